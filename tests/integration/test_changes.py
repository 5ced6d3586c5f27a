"""``db.changes`` and ``db.follow`` against the live server, in every calling convention.

These tests assert only what CouchDB promises: every change at least once, with the
latest revision of each document. Not the write order: a database with several
shards (CouchDB's default q=2, even on one node) merges the shards' feeds, so
``_changes``, ``limit`` pages and ``descending`` follow no order a client can predict.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from conventions import CONVENTIONS, call
from corduroy import ChangesFeed, Couch, Database, NotFound, Unauthorized, relax


def seed(db: Database, n: int = 5) -> list[str]:
    ids = [f"doc{i:02d}" for i in range(n)]
    db.save(
        [{"_id": docid, "type": "odd" if i % 2 else "even", "i": i} for i, docid in enumerate(ids)]
    )
    return ids


def latest_revs(db: Database, ids: list[str]) -> dict[str, str]:
    return {docid: db.get(docid)["_rev"] for docid in ids}


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_normal_feed(tmp_db: Database, convention: str) -> None:
    ids = seed(tmp_db)
    tmp_db.save({"_id": ids[0], "_rev": tmp_db.get(ids[0])["_rev"], "updated": True})
    changes = call(convention, lambda **kw: tmp_db.changes(**kw))
    assert sorted({c.id for c in changes.results}) == ids  # every doc, in no given order
    assert {c.id: c.changes[0].rev for c in changes} == latest_revs(tmp_db, ids)
    nothing = call(convention, lambda **kw: tmp_db.changes(since=changes.last_seq, **kw))
    assert nothing.results == []
    tmp_db.save({"_id": "late"})
    later = call(convention, lambda **kw: tmp_db.changes(since=changes.last_seq, **kw))
    assert {c.id for c in later} == {"late"}


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_the_result_reads_like_couchdbs_answer(tmp_db: Database, convention: str) -> None:
    ids = seed(tmp_db)
    res = call(convention, lambda **kw: tmp_db.changes(**kw))
    assert res["results"] is res.results and res["last_seq"] == res.last_seq
    assert res["pending"] == res.pending == res.get("pending")
    assert "results" in res and "last_seq" in res
    assert list(res.keys())[:2] == ["results", "last_seq"]
    assert sorted(change["id"] for change in res) == sorted(ids) == sorted(c.id for c in res[:])
    assert len(res) == len(ids) and res[0] in res
    with pytest.raises(KeyError):
        res["nope"]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_options(tmp_db: Database, convention: str) -> None:
    ids = seed(tmp_db)
    tmp_db.save(
        {
            "_id": "_design/f",
            "filters": {"by_type": "function(doc, req) { return doc.type === req.query.type; }"},
            "views": {"odd": {"map": "function(doc) { if (doc.type === 'odd') emit(doc._id); }"}},
        }
    )

    def ids_of(**options: Any) -> list[str]:
        result = call(convention, lambda **kw: tmp_db.changes(**options, **kw))
        return [c.id for c in result]

    everything = [*ids, "_design/f"]
    first_two = ids_of(limit=2)
    assert len(set(first_two)) == 2 and set(first_two) <= set(everything)
    assert sorted(ids_of(descending=True)) == sorted(everything)
    last = ids_of(descending=True, limit=1)
    assert len(last) == 1 and last[0] in everything
    assert sorted(ids_of(doc_ids=["doc03", "doc01"])) == ["doc01", "doc03"]
    assert sorted(ids_of(selector={"type": "odd"})) == ["doc01", "doc03"]
    assert sorted(ids_of(filter="f/by_type", type="even")) == ["doc00", "doc02", "doc04"]
    assert sorted(ids_of(view="f/odd")) == ["doc01", "doc03"]
    with_docs = call(convention, lambda **kw: tmp_db.changes(include_docs=True, limit=1, **kw))
    assert with_docs[0].doc["_id"] == with_docs[0].id
    assert with_docs[0].doc["_rev"] == with_docs[0].changes[0].rev
    now = call(convention, lambda **kw: tmp_db.changes(since="now", **kw))
    assert now.results == []


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_longpoll_answers_at_once_when_changes_exist(tmp_db: Database, convention: str) -> None:
    seed(tmp_db, 2)
    result = call(convention, lambda **kw: tmp_db.changes(feed="longpoll", since=0, **kw))
    assert {c.id for c in result} == {"doc00", "doc01"}


def test_guide_listener_in_a_running_loop(tmp_db: Database) -> None:
    seed(tmp_db, 3)
    batches: list[tuple[Any, list[str]]] = []

    async def main() -> ChangesFeed:
        arrived = asyncio.Event()

        def listener(last_seq: Any, changes: list[Any]) -> None:
            batches.append((last_seq, [c.id for c in changes]))
            if sum(len(ids) for _, ids in batches) == 5:
                arrived.set()

        feed = tmp_db.changes(since=0, feed="continuous", callback=listener, latency=0)
        await tmp_db.save({"_id": "live1"})
        await tmp_db.save({"_id": "live2"})
        await asyncio.wait_for(arrived.wait(), 30)
        feed.stop()
        await feed.wait()
        assert asyncio.all_tasks() == {asyncio.current_task()}
        return feed

    feed = asyncio.run(main())
    got = sorted(i for _, ids in batches for i in ids)
    assert got == ["doc00", "doc01", "doc02", "live1", "live2"]
    assert feed.last_seq == batches[-1][0]


def test_latency_batches(tmp_db: Database) -> None:
    seed(tmp_db, 20)
    calls: list[int] = []

    async def main() -> None:
        done = asyncio.Event()

        def listener(last_seq: Any, changes: list[Any]) -> None:
            calls.append(len(changes))
            if sum(calls) == 20:
                done.set()

        feed = tmp_db.changes(since=0, feed="continuous", callback=listener, latency=0.5)
        await asyncio.wait_for(done.wait(), 30)
        feed.stop()

    asyncio.run(main())
    assert sum(calls) == 20 and len(calls) < 20


def test_feed_made_before_a_tornado_loop_starts(tmp_db: Database) -> None:
    from tornado.ioloop import IOLoop

    seed(tmp_db, 2)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ioloop = IOLoop.current()
    got: list[str] = []

    def listener(last_seq: Any, changes: list[Any]) -> None:
        got.extend(c.id for c in changes)
        if len(got) == 2:
            feed.stop()
            stopped = asyncio.ensure_future(feed.wait())
            stopped.add_done_callback(lambda _: ioloop.stop())

    try:
        feed = tmp_db.changes(feed="continuous", callback=listener, latency=0)
        ioloop.call_later(30, ioloop.stop)
        ioloop.start()
    finally:
        ioloop.close(all_fds=True)
        asyncio.set_event_loop(None)
    assert sorted(got) == ["doc00", "doc01"]


def test_blocking_iteration_sees_live_changes(tmp_db: Database) -> None:
    seed(tmp_db, 2)
    writer = threading.Timer(0.3, lambda: tmp_db.save({"_id": "from-thread"}))
    writer.start()
    seen = []
    for change in tmp_db.changes(feed="continuous", since=0, heartbeat=1000):
        seen.append(change.id)
        if change.id == "from-thread":
            break
    writer.join()
    assert sorted(seen) == ["doc00", "doc01", "from-thread"]


def test_blocking_iteration_with_limit_ends(tmp_db: Database) -> None:
    seed(tmp_db, 4)
    got = [c.id for c in tmp_db.changes(feed="continuous", limit=3)]
    assert len(set(got)) == 3 and set(got) <= {"doc00", "doc01", "doc02", "doc03"}


def test_async_for(tmp_db: Database) -> None:
    seed(tmp_db, 3)

    async def main() -> list[str]:
        seen = []
        async with tmp_db.changes(feed="continuous", since=0) as feed:
            async for change in feed:
                seen.append(change.id)
                if len(seen) == 3:
                    break
        return seen

    assert sorted(asyncio.run(main())) == ["doc00", "doc01", "doc02"]


def test_relax_generator_reads_changes(tmp_db: Database) -> None:
    seed(tmp_db, 2)

    @relax
    def handler() -> Any:
        info = yield tmp_db.info()
        changes = yield tmp_db.changes()
        return info, changes

    info, changes = asyncio.run(handler())
    assert "seq: %s (%i changes)" % (changes.last_seq, len(changes.results)) == (
        f"seq: {changes.last_seq} (2 changes)"
    )
    assert info.update_seq is not None


def test_bad_credentials_stop_the_feed_through_on_error(
    couchdb_url: str, throwaway_user: Callable[[], tuple[str, str]]
) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(couchdb_url)
    name, _ = throwaway_user()  # never the admin's name: failed logins lock an account
    bad = Couch(f"{parts.scheme}://{name}:wrong-password@{parts.hostname}:{parts.port}/")
    errors: list[BaseException] = []

    async def main() -> ChangesFeed:
        feed = bad["whatever"].changes(feed="continuous", callback=print, on_error=errors.append)
        await asyncio.wait_for(feed.wait(), 30)
        return feed

    feed = asyncio.run(main())
    assert isinstance(feed.error, Unauthorized) and errors == [feed.error]
    assert "wrong-password" not in str(feed.error)


@pytest.mark.real_couchdb
def test_deleting_the_database_stops_the_feed(couch: Couch) -> None:
    # pouchdb-server keeps a deleted database's feed open; CouchDB ends it (then 404)
    db = couch.create("corduroy-test-doomed")
    db.save({"_id": "a"})

    async def main() -> ChangesFeed:
        feed = db.changes(feed="continuous", callback=lambda s, c: None, latency=0)
        await asyncio.sleep(0.5)
        await couch.delete(db.name)
        await asyncio.wait_for(feed.wait(), 30)
        return feed

    assert isinstance(asyncio.run(main()).error, NotFound)


def test_follow_resumes_from_its_checkpoint(tmp_db: Database) -> None:
    ids = seed(tmp_db, 6)
    handled: list[str] = []

    async def consume(until: set[str]) -> None:
        done = asyncio.Event()

        async def handler(change: Any) -> None:
            handled.append(change.id)
            if until <= set(handled):
                done.set()

        follower = tmp_db.follow(handler, checkpoint="indexer", every=2)
        await asyncio.wait_for(done.wait(), 30)
        follower.stop()
        await follower.wait()

    asyncio.run(consume(set(ids)))
    assert sorted(handled) == ids  # each once within a run
    saved = tmp_db.get("_local/indexer")
    assert saved.seq is not None
    tmp_db.save({"_id": "after-restart"})
    first_run = len(handled)
    asyncio.run(consume({"after-restart"}))  # a new process resumes from the checkpoint
    # across restarts delivery is at least once: the new change surely, and perhaps
    # again some the first run handled (CouchDB may replay them), never anything else
    again = handled[first_run:]
    assert "after-restart" in again and set(again) <= {*ids, "after-restart"}
    assert len(again) == len(set(again))
