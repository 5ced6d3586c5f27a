"""The two drivers carry out every instruction of ops/io.py (fake connection, no network)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from corduroy.driver_core import drive_blocking, iterate_async, run_async, run_blocking
from corduroy.errors import ConnectionDropped
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops.io import NOW, Close, Emit, Job, Read, Send, Sleep, Stopped


class Body:
    def __init__(self, chunks: list[Any]) -> None:
        self.chunks = list(chunks)
        self.closed = 0

    def _next(self) -> bytes:
        item = self.chunks.pop(0) if self.chunks else b""
        if isinstance(item, BaseException):
            raise item
        return item  # type: ignore[no-any-return]

    def read(self, n: int = -1) -> bytes:
        return self._next()

    def close(self) -> None:
        self.closed += 1


class AsyncBody(Body):
    async def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        while not self.chunks:  # nothing more yet  # noqa: ASYNC110 (a test double)
            await asyncio.sleep(0.001)
        return self._next()

    async def aclose(self) -> None:
        self.closed += 1


class Conn:
    def __init__(self, body: Body) -> None:
        self.body = body
        self.sent: list[Request] = []

    def url_for(self, request: Request) -> str:
        return "http://127.0.0.1:9" + request.target

    def send(self, request: Request) -> Response:
        self.sent.append(request)
        return Response(200, Headers(), b"", self.body)  # type: ignore[arg-type]

    async def send_async(self, request: Request) -> Response:
        return self.send(request)


def reader(log: list[Any]) -> Job[str]:
    """Sends, reads two chunks, sleeps, asks the time, emits, then returns."""
    response = yield Send(Request("GET", "/feed", stream=True), retry=False)
    first = yield Read(response.stream)
    second = yield Read(response.stream)
    log.append((first, second))
    yield Sleep(0)
    now = yield NOW
    log.append(isinstance(now, float))
    yield Emit([first, second])
    yield Close(response.stream)
    return "done"


def test_blocking_driver_carries_out_every_instruction() -> None:
    conn, log = Conn(Body([b"a", b"b"])), []
    run = drive_blocking(reader(log), conn)  # type: ignore[arg-type]
    assert list(run) == [b"a", b"b"]
    assert log == [(b"a", b"b"), True] and conn.body.closed == 1
    with pytest.raises(TypeError, match="iterate"):  # run_blocking has no consumer for Emit
        run_blocking(reader([]), Conn(Body([b"a", b"b"])))  # type: ignore[arg-type]


def test_asyncio_driver_carries_out_every_instruction() -> None:
    conn, log, got = Conn(AsyncBody([b"a", b"b"])), [], []
    result = asyncio.run(run_async(reader(log), conn, emit=got.extend))  # type: ignore[arg-type]
    assert result == "done" and got == [b"a", b"b"] and log == [(b"a", b"b"), True]


def test_a_failed_read_is_thrown_in_and_a_stopped_run_closes_its_bodies() -> None:
    def op() -> Job[None]:
        response = yield Request("GET", "/x", stream=True)
        try:
            yield Read(response.stream)
        except ConnectionDropped:
            yield Emit(["dropped"])
        yield Emit(["more"])

    conn = Conn(Body([ConnectionDropped("reset")]))
    run = drive_blocking(op(), conn)  # type: ignore[arg-type]
    assert next(run) == "dropped"
    run.close()  # the consumer leaves: the body the operation still held is closed
    assert conn.body.closed == 1


def test_a_timed_read_answers_none_and_the_next_read_gets_the_late_bytes() -> None:
    body = AsyncBody([])

    def op() -> Job[list[Any]]:
        response = yield Request("GET", "/x", stream=True)
        early = yield Read(response.stream, wait=0.001)
        body.chunks.append(b"late")
        late = yield Read(response.stream, wait=None)
        return [early, late]

    assert asyncio.run(run_async(op(), Conn(body))) == [None, b"late"]  # type: ignore[arg-type]


def test_the_consumer_error_is_thrown_in_and_stop_lets_the_operation_clean_up() -> None:
    seen: list[Any] = []

    def op() -> Job[None]:
        try:
            yield Emit([1])
        except ValueError as exc:
            seen.append(exc)
        try:
            yield Sleep(3600)
        except Stopped:
            yield Request("GET", "/cleanup")  # still sent after the stop
            seen.append("cleaned up")
            raise

    def consumer(items: list[Any]) -> None:
        raise ValueError("consumer failed")

    async def main() -> None:
        conn = Conn(AsyncBody([]))
        task = asyncio.ensure_future(run_async(op(), conn, emit=consumer))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert [r.path for r in conn.sent] == ["/cleanup"]

    asyncio.run(main())
    assert isinstance(seen[0], ValueError) and seen[1] == "cleaned up"


def test_async_iteration_never_runs_ahead_of_its_loop() -> None:
    steps: list[int] = []

    def op() -> Job[None]:
        for n in range(3):
            steps.append(n)
            yield Emit([n])

    async def main() -> list[int]:
        got = []
        async for item in iterate_async(op(), Conn(Body([]))):  # type: ignore[arg-type]
            got.append(item)
            assert steps == list(range(item + 1))  # the operation waited for the loop
        return got

    assert asyncio.run(main()) == [0, 1, 2]


def test_blocking_sleep_ends_early_when_another_thread_stops_the_run() -> None:
    stop = threading.Event()

    def op() -> Job[None]:
        yield Emit(["first"])
        yield Sleep(3600)
        yield Emit(["never"])

    run = drive_blocking(op(), Conn(Body([])), stop=stop)  # type: ignore[arg-type]
    assert next(run) == "first"
    threading.Timer(0.01, stop.set).start()
    assert list(run) == []


def test_an_empty_emit_does_not_wait_for_the_loop() -> None:
    def op() -> Job[None]:
        yield Emit([1])
        yield Emit([])
        yield Emit([2])
        yield Emit([])

    async def main() -> list[int]:
        return [item async for item in iterate_async(op(), Conn(Body([])))]  # type: ignore[arg-type]

    assert asyncio.run(main()) == [1, 2]
