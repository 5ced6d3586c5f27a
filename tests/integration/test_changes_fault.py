"""Fault test: a continuous feed survives its server being killed and restarted.

An on-disk pouchdb-server (its own, not the session's) is SIGKILLed and restarted 10 times
while a writer saves 2,000 documents one by one and a ``ChangesFeed`` listens. The
listener must receive every id exactly once, in seq order.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from corduroy import Conflict, Couch, TransportError
from corduroy.errors import ServerError
from corduroy.testing.server import EmbeddedServer

DOCS = 2000
KILLS = 10


def write_all(couch_url: str, name: str, stop: threading.Event) -> None:
    """Save DOCS documents one by one, riding out the server's deaths."""
    couch = Couch(couch_url, connect_timeout=1.0)
    db = couch[name]
    for i in range(DOCS):
        doc = {"_id": f"doc{i:05d}", "i": i}
        while not stop.is_set():
            try:
                db.save(dict(doc))
                break
            except Conflict:
                break  # the server stored it but died before answering
            except (TransportError, ServerError):
                time.sleep(0.05)
    couch.close()


def kill_repeatedly(server: EmbeddedServer, progress: list[int], stop: threading.Event) -> int:
    kills = 0
    for k in range(KILLS):
        # spread the kills over the whole write
        while progress[0] < (k + 1) * DOCS // (KILLS + 2) and not stop.is_set():
            time.sleep(0.01)
        if stop.is_set():
            break
        server.kill()
        time.sleep(0.1)
        server.ensure_alive()
        kills += 1
    return kills


@pytest.mark.slow
def test_no_change_lost_or_repeated_across_server_restarts() -> None:
    with EmbeddedServer(in_memory=False) as server:
        couch = Couch(server.url)
        name = "faulty"
        couch.create(name)
        received: list[tuple[Any, str]] = []
        progress = [0]
        stop = threading.Event()
        kills: list[int] = []

        async def main() -> Any:
            finished = asyncio.Event()

            def listener(last_seq: Any, changes: list[Any]) -> None:
                received.extend((c.seq, c.id) for c in changes)
                progress[0] = len(received)
                if len(received) >= DOCS:
                    finished.set()

            feed = couch[name].changes(
                feed="continuous", since=0, latency=0, heartbeat=1000, callback=listener,
                on_error=lambda exc: finished.set(),
            )
            loop = asyncio.get_running_loop()
            writer = loop.run_in_executor(None, write_all, server.url, name, stop)
            killer = loop.run_in_executor(
                None, lambda: kills.append(kill_repeatedly(server, progress, stop))
            )
            try:
                await asyncio.wait_for(finished.wait(), 55)
            except TimeoutError:
                pass  # the assertions below say what is missing
            stop.set()
            await writer
            await killer
            feed.stop()
            await feed.wait()
            return feed

        feed = asyncio.run(main())
        assert feed.error is None
        assert kills == [KILLS]
        ids = [docid for _, docid in received]
        assert len(ids) == len(set(ids)), "a change was delivered twice"
        assert sorted(ids) == [f"doc{i:05d}" for i in range(DOCS)], "a change was lost"
        seqs = [seq for seq, _ in received]
        assert seqs == sorted(seqs)  # pouchdb-server's seqs are integers
