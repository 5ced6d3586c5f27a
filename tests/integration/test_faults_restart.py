"""Server restarts: an on-disk pouchdb-server killed (SIGKILL) and started again.

The pooled connections die with the server; calls after the restart go out on
fresh connections and succeed, in the blocking pool and in the asyncio pool,
with the same Couch, and the data written before the kill is there.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from corduroy import Couch
from corduroy.errors import TransportError
from corduroy.http import RetryPolicy, close_idle_connections
from corduroy.testing.server import EmbeddedServer

pytestmark = [pytest.mark.slow, pytest.mark.timeout(120)]

DOCS = 20


@pytest.fixture(scope="module")
def disk_server(couchdb_server: EmbeddedServer | None) -> Iterator[EmbeddedServer]:
    if couchdb_server is None:
        pytest.skip("restarts need the embedded server (COUCHDB_URL points elsewhere)")
    server = EmbeddedServer(in_memory=False)
    server.start()
    yield server
    server.stop()


def seed(couch: Couch, name: str) -> None:
    db = couch.create(name)
    db.save([{"_id": f"d{i}", "i": i} for i in range(DOCS)])


def test_blocking_calls_after_a_restart_use_fresh_connections(
    disk_server: EmbeddedServer,
) -> None:
    couch = Couch(disk_server.url, read_timeout=5)
    seed(couch, "blocking")
    db = couch["blocking"]
    for _ in range(3):
        assert db.get("d1")["i"] == 1  # the pool now holds a kept-alive connection
        disk_server.kill()
        with pytest.raises(TransportError):  # no server: refused, after the retries
            Couch(disk_server.url, retry=RetryPolicy(attempts=2, backoff=0.01)).info()
        disk_server.restart()
        assert db.get("d2")["i"] == 2  # the dead pooled connection is not reused
        assert db.info()["doc_count"] == DOCS
        doc = db.get("d3")
        doc["i"] += 100
        assert db.save(doc).ok  # a write on a fresh connection too
    assert db.get("d3")["i"] == 303
    couch.close()


def test_async_calls_after_a_restart_use_fresh_connections(
    disk_server: EmbeddedServer,
) -> None:
    couch = Couch(disk_server.url, read_timeout=5)
    seed(couch, "async")
    db = couch["async"]

    async def main() -> None:
        try:
            for _ in range(3):
                # several pooled connections, all about to die
                await asyncio.gather(*(db.get(f"d{i}") for i in range(8)))
                await asyncio.to_thread(disk_server.kill)
                await asyncio.to_thread(disk_server.restart)
                docs = await asyncio.gather(*(db.get(f"d{i}") for i in range(8)))
                assert [d["i"] for d in docs] == list(range(8))
                doc = await db.get("d9")
                doc["i"] += 100
                assert (await db.save(doc)).ok
            assert (await db.get("d9"))["i"] == 309
        finally:
            await close_idle_connections()

    asyncio.run(main())
    couch.close()


def test_a_call_made_while_the_server_restarts_waits_for_it(
    disk_server: EmbeddedServer,
) -> None:
    couch = Couch(
        disk_server.url, retry=RetryPolicy(attempts=200, backoff=0.05, max_backoff=0.2, total=60)
    )
    seed(couch, "during")
    db = couch["during"]
    disk_server.kill()

    async def main() -> int:
        restart = asyncio.create_task(asyncio.to_thread(disk_server.restart))
        try:
            doc = await db.get("d5")  # refused until the server is back, then answered
            return int(doc["i"])
        finally:
            await restart
            await close_idle_connections()

    assert asyncio.run(main()) == 5
    assert db.get("d6")["i"] == 6
    couch.close()
