"""Failover between two real pouchdb-servers kept in sync by replication.

Each server stores on disk, so a killed one comes back with its data. Which node
answered is visible to a user: ``couch.info()["uuid"]`` is each server's own uuid.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

import pytest

from conventions import CONVENTIONS, call
from corduroy import ConnectError, Couch
from corduroy.ops.base import Op, json_request
from corduroy.testing.server import EmbeddedServer

pytestmark = pytest.mark.slow


def replicate(target: EmbeddedServer, source: EmbeddedServer, db: str) -> None:
    """One-shot replication of ``db`` from ``source`` into ``target``, run by ``target``."""

    def op() -> Op[None]:
        body = {"source": source.url + db, "target": db, "create_target": True}
        yield json_request("POST", "/_replicate", body)

    Couch(target.url)._run(op(), None, "test replicate")


def uuid_of(server: EmbeddedServer) -> str:
    return str(Couch(server.url).info()["uuid"])


@pytest.fixture
def pair() -> Iterator[tuple[EmbeddedServer, EmbeddedServer]]:
    """Two on-disk servers: a killed one restarts with its data."""
    first = EmbeddedServer(in_memory=False)
    second = EmbeddedServer(in_memory=False)
    with first, second:
        yield first, second


@pytest.fixture(scope="module")
def memory_servers() -> Iterator[tuple[EmbeddedServer, EmbeddedServer]]:
    with EmbeddedServer() as first, EmbeddedServer() as second:
        yield first, second


@pytest.fixture
def memory_pair(memory_servers):
    """Two in-memory servers, both running (a test killed the first one before)."""
    for server in memory_servers:
        server.ensure_alive()
    return memory_servers


def shared_db_name() -> str:
    return f"shared-{uuid.uuid4().hex[:10]}"


def wait_for_node(couch: Couch, wanted: str, deadline: float = 20.0) -> None:
    """Call until ``wanted`` answers (it is probed every ``probe_interval``)."""
    stop = time.monotonic() + deadline
    while couch.info()["uuid"] != wanted:
        if time.monotonic() > stop:
            pytest.fail(f"traffic never came back to {wanted}: {couch._conn.nodes.health()}")
        time.sleep(0.1)


def test_calls_keep_succeeding_when_a_node_dies_and_come_back_when_it_recovers(pair):
    first, second = pair
    first_uuid, second_uuid = uuid_of(first), uuid_of(second)
    couch = Couch([first.url, second.url], probe_interval=0.2)
    db = couch.create("shared")
    db.save([{"_id": f"doc{i}", "n": i} for i in range(20)])
    replicate(second, first, "shared")
    assert couch.info()["uuid"] == first_uuid

    for i in range(40):  # reads and writes; the first node dies in the middle
        if i == 15:
            first.kill()
        assert db.get(f"doc{i % 20}")["n"] == i % 20
        db.save({"_id": f"during{i}", "i": i})
    assert couch.info()["uuid"] == second_uuid
    assert db.get("during39")["i"] == 39

    first.ensure_alive()  # back on the same port, with what it had stored
    replicate(first, second, "shared")
    wait_for_node(couch, first_uuid)
    assert db.get("during20")["i"] == 20  # written while it was down, replicated back
    assert len(db) == 60


@pytest.mark.parametrize("convention", [c for c in CONVENTIONS if c != "blocking"])
def test_failover_in_the_other_conventions(memory_pair, convention):
    first, second = memory_pair
    second_uuid = uuid_of(second)
    couch = Couch([first.url, second.url], probe_interval=0.2)
    name = shared_db_name()
    db = couch.create(name)
    db.save({"_id": "a", "n": 1})
    replicate(second, first, name)
    assert call(convention, lambda **kw: db.get("a", **kw))["n"] == 1
    first.kill()
    assert call(convention, lambda **kw: db.get("a", **kw))["n"] == 1
    assert call(convention, lambda **kw: couch.info(**kw))["uuid"] == second_uuid


def test_concurrent_tasks_fail_over_together(memory_pair):
    first, second = memory_pair
    couch = Couch([first.url, second.url], probe_interval=0.2)
    name = shared_db_name()
    db = couch.create(name)
    db.save([{"_id": f"d{i}"} for i in range(10)])
    replicate(second, first, name)

    async def main() -> list[str]:
        await db.get("d0")  # open pooled connections to the first node
        first.kill()
        docs = await asyncio.gather(*(db.get(f"d{i}") for i in range(10)))
        return [doc["_id"] for doc in docs]

    assert asyncio.run(main()) == [f"d{i}" for i in range(10)]


def test_every_node_down_raises_a_connect_error():
    nowhere = Couch(["http://127.0.0.1:9/", "http://127.0.0.1:11/"], connect_timeout=2)
    with pytest.raises(ConnectError):
        nowhere.info()


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_write_whose_node_dies_mid_request_goes_to_the_next_node(memory_pair, convention):
    # the connection to node 1 drops after the write left: the save names its id, so it
    # is sent again, to node 2, and no error reaches the caller
    from urllib.parse import urlsplit

    from faultproxy import FaultProxy

    first, second = memory_pair
    name = shared_db_name()
    for server in memory_pair:
        Couch(server.url).create(name)
    parts = urlsplit(first.url)
    with FaultProxy((parts.hostname or "127.0.0.1", parts.port or 5984)) as proxy:
        couch = Couch([proxy.url_for(first.url), second.url])
        proxy.inject("drop", times=1)
        doc = {"_id": "order-1", "amount": 10}
        call(convention, lambda **kw: couch[name].save(doc, **kw))
        assert doc["_rev"].startswith("1-")
        assert [node["healthy"] for node in couch.node_health()] == [False, True]
        assert Couch(second.url)[name].get("order-1")["amount"] == 10
        couch.close()
