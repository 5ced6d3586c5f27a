"""Replication against the live server, in every calling convention.

pouchdb-server ignores ``doc_ids``, ``selector`` and cancel, has no ``_scheduler`` and
answers 500 to object endpoints (docs/replication.md, "What pouchdb-server does
differently"): those paths are covered by tests/unit/test_replication_ops.py with recorded
CouchDB 3 answers, and live here only on a real CouchDB (``real_couchdb``).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from conventions import CONVENTIONS, call
from corduroy import Couch, Database
from corduroy.replication import ReplicationStatus


@pytest.fixture
def other_db(couch: Couch) -> Iterator[Database]:
    name = f"corduroy-test-{uuid.uuid4().hex[:12]}"
    try:
        yield couch[name]
    finally:
        try:
            couch.delete(name)
        except Exception:
            pass


def fill(db: Database, n: int = 3) -> list[str]:
    ids = [f"r{i}" for i in range(n)]
    db.save([{"_id": i, "n": n} for n, i in enumerate(ids)])
    return ids


def ids_in(db: Database) -> list[str]:
    return sorted(c.id for c in db.changes())


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_replicate_by_name(
    couch: Couch, tmp_db: Database, other_db: Database, convention: str
) -> None:
    ids = fill(tmp_db)
    result = call(
        convention,
        lambda **kw: couch.replicate(tmp_db.name, other_db.name, create_target=True, **kw),
    )
    assert result.ok
    assert ids_in(other_db) == ids


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_push_and_pull_with_database_objects(
    couch: Couch, tmp_db: Database, other_db: Database, convention: str
) -> None:
    ids = fill(tmp_db)
    call(convention, lambda **kw: tmp_db.push(other_db, create_target=True, **kw))
    assert ids_in(other_db) == ids
    other_db.save({"_id": "remote-edit"})
    call(convention, lambda **kw: tmp_db.pull(other_db, **kw))
    assert "remote-edit" in ids_in(tmp_db)


def test_replicate_by_url_never_shows_the_password(
    couch: Couch, couchdb_url: str, tmp_db: Database, other_db: Database
) -> None:
    import asyncio

    fill(tmp_db)
    source = couchdb_url.rstrip("/") + "/" + tmp_db.name
    replicas = []

    async def main() -> None:
        done = asyncio.get_running_loop().create_future()
        replica = couch.replicate(
            source,
            other_db.name,
            create_target=True,
            callback=lambda data, status: done.set_result(status),
        )
        replicas.append(replica)
        status = await asyncio.wait_for(done, 60)
        assert status.ok, status

    asyncio.run(main())
    password = couch._conn.url.password
    assert password
    shown = repr(replicas[0]) + replicas[0].url + str(replicas[0].headers) + str(replicas[0].body)
    assert password not in shown
    assert len(ids_in(other_db)) == 3


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_replicator_doc_and_watching(
    couch: Couch, tmp_db: Database, other_db: Database, convention: str
) -> None:
    ids = fill(tmp_db)
    docid = "corduroy-" + uuid.uuid4().hex[:8]
    written = call(
        convention,
        lambda **kw: tmp_db.push(other_db, _id=docid, create_target=True, **kw),
    )
    assert written.ok and written.id == docid
    status = call(convention, lambda **kw: couch.replication(docid, **kw))
    assert isinstance(status, ReplicationStatus) and status.id == docid
    final = call(convention, lambda **kw: status.wait(timeout=60, poll=0.1, **kw))
    assert final.done and final.state == "completed"
    assert final.docs_written == len(ids)
    assert ids_in(other_db) == ids
    # couch.replicator behaves like any database
    doc = couch.replicator.get(docid)
    assert doc["_replication_state"] == "completed"
    couch.replicator.delete(doc)


def test_tasks_lists_active_tasks(couch: Couch) -> None:
    assert isinstance(couch.tasks(), list)


@pytest.mark.real_couchdb
def test_scheduler_reports_a_continuous_replication(
    couch: Couch, tmp_db: Database, other_db: Database
) -> None:
    fill(tmp_db)
    docid = "corduroy-" + uuid.uuid4().hex[:8]
    tmp_db.push(other_db, _id=docid, continuous=True, create_target=True)
    import time

    deadline = time.monotonic() + 30
    status = couch.replication(docid)
    while status.state in ("initializing", "pending") and time.monotonic() < deadline:
        time.sleep(0.2)
        status = couch.replication(docid)
    assert status.state == "running"
    assert "_scheduler" not in status.raw.get("database", "_replicator")
    couch.replicator.delete(couch.replicator.get(docid))


@pytest.mark.real_couchdb
def test_doc_ids_selector_and_cancel_on_couchdb(
    couch: Couch, tmp_db: Database, other_db: Database
) -> None:
    fill(tmp_db, 4)
    couch.replicate(tmp_db, other_db, create_target=True, doc_ids=["r1", "r3"])
    assert ids_in(other_db) == ["r1", "r3"]
    couch.replicate(tmp_db, other_db, selector={"n": 0})
    assert ids_in(other_db) == ["r0", "r1", "r3"]
    started = couch.replicate(tmp_db, other_db, continuous=True)
    assert started.ok
    assert couch.replicate(tmp_db, other_db, continuous=True, cancel=True).ok
