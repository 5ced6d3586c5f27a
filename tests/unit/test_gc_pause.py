"""Decoding large answers leaves the process's garbage collector alone unless asked."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator

import orjson
import pytest

import corduroy
from corduroy.http import jsonexact

BIG = orjson.dumps({"rows": [{"id": str(n), "value": n} for n in range(20_000)]})


@pytest.fixture
def seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[bool]]:
    """Whether the collector was on during each decode."""
    states: list[bool] = []
    decode = jsonexact._decode

    def watching(data: bytes) -> object:
        states.append(gc.isenabled())
        return decode(data)

    monkeypatch.setattr(jsonexact, "_decode", watching)
    yield states
    corduroy.defaults.pause_gc = False


def test_the_collector_stays_on_by_default(seen: list[bool]) -> None:
    assert len(BIG) > 64 * 1024
    jsonexact.loads(BIG)
    assert seen == [True] and gc.isenabled()


def test_pause_gc_is_opt_in_and_restores_the_collector(seen: list[bool]) -> None:
    corduroy.defaults.pause_gc = True
    jsonexact.loads(BIG)
    jsonexact.loads(b"[1]")  # small bodies are never paused for
    assert seen == [False, True] and gc.isenabled()


def test_a_collector_switched_off_by_the_program_stays_off(seen: list[bool]) -> None:
    corduroy.defaults.pause_gc = True
    gc.disable()
    try:
        jsonexact.loads(BIG)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_threads_share_one_pause() -> None:
    corduroy.defaults.pause_gc = True
    try:
        inside, release = threading.Event(), threading.Event()

        def slow_decode() -> None:
            with jsonexact.GC_PAUSE:
                inside.set()
                release.wait(10)

        thread = threading.Thread(target=slow_decode)
        thread.start()
        inside.wait(10)
        with jsonexact.GC_PAUSE:  # a second decode ends first...
            assert not gc.isenabled()
        assert not gc.isenabled()  # ...and leaves the collector off for the first
        release.set()
        thread.join(10)
        assert gc.isenabled()
    finally:
        corduroy.defaults.pause_gc = False
