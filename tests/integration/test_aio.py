"""corduroy.aio against the live server: coroutine methods, the same objects and errors."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import corduroy
from corduroy import Conflict, Document, NotFound, View
from corduroy.aio import Couch, Database, Partition


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_get_save_view_and_errors(couchdb_url: str) -> None:
    name = f"corduroy-aio-{uuid.uuid4().hex[:10]}"

    async def main() -> None:
        async with Couch(couchdb_url) as couch:
            db = await couch.db(name, create_if_missing=True)
            assert isinstance(db, Database)
            assert db.couch == couch
            try:
                result = await db.save({"_id": "ollie", "first": "Oliver"})
                assert result.ok
                doc = await db.get("ollie")
                assert isinstance(doc, Document) and doc.first == "Oliver"
                assert await db.get(["ollie", "nobody"]) == [doc, None]
                with pytest.raises(NotFound):
                    await db.get("nobody")
                stale = {"_id": "ollie", "_rev": "1-0123456789abcdef0123456789abcdef"}
                with pytest.raises(Conflict):
                    await db.save(stale)
                await db.save({"_id": "_design/people", "views": {"by_first": {"map": MAP}}})
                view = await db.view("people/by_first")
                assert isinstance(view, View)
                assert [row.key for row in view] == ["Oliver"]
                changes = await db.changes(since=0)
                assert {change["id"] for change in changes.results} == {"ollie", "_design/people"}
                assert [row.id async for row in db.iterview("people/by_first", batch=1)] == [
                    "ollie"
                ]
            finally:
                await couch.delete(name)
            assert not await db.exists()

    run(main())


MAP = "function (doc) { if (doc.first) { emit(doc.first, null); } }"


def test_continuous_changes(couchdb_url: str) -> None:
    name = f"corduroy-aio-{uuid.uuid4().hex[:10]}"

    async def main() -> None:
        async with Couch(couchdb_url) as couch:
            db = await couch.create(name)
            try:
                await db.save([{"_id": "a"}, {"_id": "b"}])
                seen: set[str] = set()
                async for change in db.changes(feed="continuous", since=0):
                    seen.add(change["id"])
                    if seen == {"a", "b"}:
                        break
                assert seen == {"a", "b"}
            finally:
                await couch.delete(name)

    run(main())


def test_same_connections_as_the_blocking_couch(couchdb_url: str) -> None:
    blocking = corduroy.Couch(couchdb_url)
    wrapped = Couch.wrap(blocking)
    assert wrapped.blocking is blocking
    assert repr(wrapped) == repr(blocking)
    assert wrapped["x"].blocking is blocking["x"]

    async def main() -> list[str]:
        return await wrapped.all_dbs()

    assert run(main()) == blocking.all_dbs()
    blocking.close()


def test_partitions_are_handed_out_typed() -> None:
    db = Database("http://127.0.0.1:5999/shop")
    part = db.partition("sensor-1")
    assert isinstance(part, Partition) and part.key == "sensor-1" and part.db == db
    assert part.blocking == db.blocking.partition("sensor-1")
    assert repr(part) == "<Partition 'shop'/'sensor-1'>"


def test_every_method_has_its_aio_twin() -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))
    import gen_surface

    pairs = [(corduroy.Couch, Couch), (corduroy.Database, Database)]
    for blocking, typed in [*pairs, (corduroy.Partition, Partition)]:
        for name, _ in gen_surface.public_members(blocking):
            assert hasattr(typed, name) or gen_surface.left_out(blocking, name), name
    assert not hasattr(Database, "__getitem__")  # db[id] blocks: await db.get(id)
