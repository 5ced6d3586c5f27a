"""Static checks of the typed surfaces: ``make lint`` runs mypy --strict on this file.

Never run, only type-checked: each ``assert_type`` states what a call is typed as.
The lines marked ``type: ignore[...]`` must stay errors (mypy --strict warns
about an unused ignore, so a call that stops being an error fails the check).
"""

from __future__ import annotations

from typing import Any, assert_type

import corduroy
import corduroy.aio
from corduroy import (
    AttrDict,
    ChangesResult,
    ConflictResolution,
    Document,
    FindResult,
    RequestReplica,
    Row,
    RowStream,
    Status,
    View,
)
from corduroy.api.views import PagedRows
from corduroy.drivers import Callback


def done(data: Any, status: Status) -> None:
    pass


def blocking(couch: corduroy.Couch, db: corduroy.Database) -> None:
    assert_type(db.get("x"), Document)
    assert_type(db.get(["x", "y"]), list[Document | None])
    assert_type(db.get("x", callback=done), RequestReplica)
    assert_type(db.save({"_id": "x"}), ConflictResolution)
    assert_type(db.save({"_id": "x"}, callback=done), RequestReplica)
    assert_type(db.view("ddoc/by_name", limit=3), View)
    assert_type(db.view("ddoc/by_name", callback=done), RequestReplica)
    assert_type(db.view("ddoc/by_name", stream=True), RowStream)
    assert_type(db.all_docs(stream=True, include_docs=True), RowStream)
    assert_type(db.all_docs(stream=False), View)
    assert_type(db.query("function(doc) { emit(doc._id, 1); }", stream=True), RowStream)
    assert_type(db.partition("p").all_docs(stream=True), RowStream)
    maybe_streamed: bool = bool(db)
    assert_type(db.view("ddoc/by_name", stream=maybe_streamed), View | RowStream)
    for row in db.all_docs(stream=True):
        assert_type(row, Row)
    assert_type(db.find({"a": 1}), FindResult)
    assert_type(db.info(), AttrDict)
    assert_type(db.exists(callback=done), RequestReplica)
    assert_type(db.iterview("ddoc/by_name"), PagedRows)
    assert_type(couch.db("people"), corduroy.Database)
    assert_type(couch.db("people", callback=done), RequestReplica)
    assert_type(couch.all_dbs(), list[str])
    assert_type(db.partition("p").view("ddoc/v"), View)
    assert_type(db.partition("p").info(callback=done), RequestReplica)
    assert_type(couch["people"], corduroy.Database)
    assert_type(db["x"], Document)
    with corduroy.Couch() as scoped:
        assert_type(scoped, corduroy.Couch)


def forwarding(db: corduroy.Database, callback: Callback | None) -> Document | RequestReplica:
    """A callback passed on as it came: either result."""
    return db.get("x", callback=callback)


async def awaited(couch: corduroy.aio.Couch) -> None:
    db = await couch.db("people", create_if_missing=True)
    assert_type(db, corduroy.aio.Database)
    assert_type(couch["people"], corduroy.aio.Database)
    doc = await db.get("x")
    assert_type(doc, Document)
    assert_type(await db.get(["x"]), list[Document | None])
    assert_type(await db.save(doc), ConflictResolution)
    assert_type(await db.view("ddoc/by_name"), View)
    assert_type(await db.find({"a": 1}), FindResult)
    assert_type(await db.exists(), bool)
    assert_type(await couch.all_dbs(), list[str])
    assert_type(db.couch, corduroy.aio.Couch)
    part = db.partition("p")
    assert_type(part, corduroy.aio.Partition)
    assert_type(await part.view("ddoc/v"), View)
    assert_type(await part.view("ddoc/v", stream=True), RowStream)
    async for streamed in await db.all_docs(stream=True, include_docs=True):
        assert_type(streamed, Row)
    assert_type(await db.view("ddoc/by_name", stream=True), RowStream)
    assert_type(await part.info(), AttrDict)
    assert_type(await db.changes(), Any)
    changes: ChangesResult = await db.changes(since=0)
    assert_type(changes, ChangesResult)
    async for _row in db.iterview("ddoc/by_name"):
        pass
    forgotten: Document = db.get("x")  # type: ignore[assignment]
    print(forgotten)
    db.get("x")  # type: ignore[unused-coroutine]
    async with corduroy.aio.Couch() as scoped:
        assert_type(scoped, corduroy.aio.Couch)
    await couch.aclose()
