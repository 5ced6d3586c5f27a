"""Fault test: a continuous feed survives its server being killed and restarted.

An on-disk pouchdb-server (its own, not the session's) is SIGKILLed and restarted 10 times
while a writer saves 2,000 documents (10 per request) and a ``ChangesFeed`` listens. The
listener must receive every id exactly once, in seq order.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from corduroy import Couch, TransportError
from corduroy.errors import ServerError
from corduroy.testing.server import EmbeddedServer

DOCS = 2000
BATCH = 10
KILLS = 10


def write_all(couch_url: str, name: str, written: list[int], stop: threading.Event) -> None:
    """Save DOCS documents, BATCH at a time, riding out the server's deaths.

    A batch whose answer was lost is sent again: the documents already stored come
    back as per-document conflicts, which is fine.
    """
    couch = Couch(couch_url, connect_timeout=1.0)
    db = couch[name]
    for start in range(0, DOCS, BATCH):
        docs = [{"_id": f"doc{i:05d}", "i": i} for i in range(start, start + BATCH)]
        while not stop.is_set():
            try:
                db.save([dict(doc) for doc in docs])
                break
            except (TransportError, ServerError):
                time.sleep(0.05)
        written[0] = start + BATCH
    couch.close()


def kill_repeatedly(server: EmbeddedServer, progress: list[int], stop: threading.Event) -> int:
    kills = 0
    for k in range(KILLS):
        # spread the kills over the whole write
        while progress[0] < (k + 1) * DOCS // (KILLS + 1) and not stop.is_set():
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
    # admin party: no password hash per request, so the on-disk writes go twice as fast
    with EmbeddedServer(in_memory=False, admin=None) as server:
        couch = Couch(server.url)
        name = "faulty"
        couch.create(name)
        received: list[tuple[Any, str]] = []
        written = [0]
        delivered = [0]  # the killer waits for the feed to be live and caught up
        stop = threading.Event()
        kills: list[int] = []

        async def main() -> Any:
            finished = asyncio.Event()

            def listener(last_seq: Any, changes: list[Any]) -> None:
                received.extend((c.seq, c.id) for c in changes)
                delivered[0] = len(received)
                if len(received) >= DOCS:
                    finished.set()

            feed = couch[name].changes(
                feed="continuous",
                since=0,
                latency=0,
                heartbeat=1000,
                callback=listener,
                on_error=lambda exc: finished.set(),
            )
            loop = asyncio.get_running_loop()
            writer = loop.run_in_executor(None, write_all, server.url, name, written, stop)
            killer = loop.run_in_executor(
                None, lambda: kills.append(kill_repeatedly(server, delivered, stop))
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
        assert feed._state.reconnects >= KILLS  # the feed really lost its connection each time
        ids = [docid for _, docid in received]
        assert len(ids) == len(set(ids)), "a change was delivered twice"
        assert sorted(ids) == [f"doc{i:05d}" for i in range(DOCS)], "a change was lost"
        seqs = [seq for seq, _ in received]
        assert seqs == sorted(seqs)  # pouchdb-server's seqs are integers
