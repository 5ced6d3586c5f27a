"""Mango queries and indexes against the live server, in every convention."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from conventions import CONVENTIONS, call
from corduroy import BadRequest, Database, Document, HTTPError

PEOPLE = [
    {"_id": f"u{i:02d}", "name": name, "age": age, "dept": dept, "tags": tags}
    for i, (name, age, dept, tags) in enumerate(
        [
            ("alice", 31, "eng", ["a", "b"]),
            ("bob", 25, "ops", ["b"]),
            ("carol", 42, "eng", []),
            ("dave", 19, "ops", ["a"]),
            ("erin", 36, "eng", ["c"]),
            ("frank", 28, "sales", ["a", "c"]),
            ("grace", 55, "eng", ["b"]),
            ("heidi", 23, "sales", []),
        ]
    )
]


@pytest.fixture
def db(tmp_db: Database) -> Database:
    tmp_db.save([dict(p) for p in PEOPLE])
    return tmp_db


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_find(db: Database, convention: str) -> None:
    older = call(convention, lambda **kw: db.find({"age": {"$gt": 30}}, **kw))
    assert all(isinstance(d, Document) for d in older)
    assert sorted(d.name for d in older) == sorted(p["name"] for p in PEOPLE if p["age"] > 30)
    some = call(
        convention,
        lambda **kw: db.find(
            {"dept": "eng", "tags": {"$elemMatch": {"$eq": "b"}}}, fields=["_id", "name"], **kw
        ),
    )
    assert sorted(some, key=lambda d: d._id) == [
        {"_id": p["_id"], "name": p["name"]}
        for p in PEOPLE if p["dept"] == "eng" and "b" in p["tags"]
    ]  # fmt: skip
    page = call(convention, lambda **kw: db.find({"age": {"$gte": 0}}, limit=3, skip=2, **kw))
    assert len(page) == 3
    assert page.warning is None or "index" in page.warning


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_index_sort_explain(db: Database, convention: str) -> None:
    made = call(convention, lambda **kw: db.index(["age"], name="age-idx", ddoc="ages", **kw))
    assert made.result == "created" and made.name == "age-idx"
    again = call(convention, lambda **kw: db.index(["age"], name="age-idx", ddoc="ages", **kw))
    assert again.result == "exists"
    listed = call(convention, lambda **kw: db.indexes(**kw))
    assert "age-idx" in [i.name for i in listed]
    young = call(
        convention,
        lambda **kw: db.find(
            {"age": {"$lt": 30}}, sort=[{"age": "asc"}], use_index=["ages", "age-idx"], **kw
        ),
    )
    assert [d.age for d in young] == sorted(p["age"] for p in PEOPLE if p["age"] < 30)
    plan = call(convention, lambda **kw: db.explain({"age": {"$gt": 20}}, **kw))
    assert plan.index.name == "age-idx"


def test_sorting_without_an_index_is_a_bad_request(db: Database) -> None:
    with pytest.raises(BadRequest) as info:
        db.find({"age": {"$gt": 1}}, sort=[{"age": "asc"}])
    assert info.value.reason  # pouchdb-server's "message" becomes the reason


@pytest.mark.parametrize("batch", [1, 3, 100])
def test_iterfind_pages(db: Database, batch: int) -> None:
    everyone = sorted(p["_id"] for p in PEOPLE)
    assert sorted(d._id for d in db.iterfind({"age": {"$gt": 0}}, batch=batch)) == everyone
    assert len(list(db.iterfind({"age": {"$gt": 0}}, batch=batch, limit=5))) == 5

    async def collect() -> list[str]:
        return [d._id async for d in db.iterfind({"age": {"$gt": 0}}, batch=batch)]

    assert sorted(asyncio.run(collect())) == everyone


@pytest.mark.real_couchdb
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_couchdb_bookmarks_stats_and_index_deletion(db: Database, convention: str) -> None:
    first = call(convention, lambda **kw: db.find({"age": {"$gt": 0}}, limit=3, **kw))
    assert first.bookmark
    second = call(
        convention,
        lambda **kw: db.find({"age": {"$gt": 0}}, limit=3, bookmark=first.bookmark, **kw),
    )
    assert not {d._id for d in first} & {d._id for d in second}
    stats = call(convention, lambda **kw: db.find({"age": {"$gt": 0}}, execution_stats=True, **kw))
    assert stats.execution_stats.results_returned == len(PEOPLE)
    db.index(["dept"], name="dept-idx", ddoc="depts")
    entry = next(i for i in db.indexes() if i.name == "dept-idx")
    assert call(convention, lambda **kw: db.delete_index(entry, **kw)).ok
    assert "dept-idx" not in [i.name for i in db.indexes()]


def test_index_deletion_on_pouchdb_server_fails_loudly(db: Database, couch: Any) -> None:
    if "couchdb" in couch.info():
        pytest.skip("pouchdb-server behaviour")
    db.index(["dept"], name="dept-idx", ddoc="depts")
    with pytest.raises(HTTPError):  # pouchdb-server: indexes cannot be deleted over HTTP there
        db.delete_index("depts", "dept-idx")
