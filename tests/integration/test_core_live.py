"""The core API (issue 2) against the live server, in every calling convention."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest

from conventions import ALL_CONVENTIONS, CONVENTIONS, call
from corduroy import (
    Conflict,
    Couch,
    Database,
    Document,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unauthorized,
)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def new_names(couch: Couch) -> Iterator[Callable[[], str]]:
    """Unique database names; whatever was created under them is deleted afterwards."""
    made: list[str] = []

    def make() -> str:
        made.append(f"corduroy-core-{uuid.uuid4().hex[:10]}")
        return made[-1]

    yield make
    for name in made:
        try:
            couch.delete(name)
        except NotFound:
            pass


# -- Couch ---------------------------------------------------------------------------


@pytest.mark.parametrize("convention", ALL_CONVENTIONS)
def test_create_all_dbs_and_delete(couch: Couch, new_names: Any, convention: str) -> None:
    name = new_names()
    db = call(convention, lambda **kw: couch.create(name, **kw))
    assert isinstance(db, Database) and repr(db) == f"<Database '{name}'>"
    assert db is couch[name]
    assert name in call(convention, lambda **kw: couch.all_dbs(**kw))
    assert call(convention, lambda **kw: couch.delete(name, **kw)) is None
    assert name not in couch.all_dbs()
    assert not couch[name].exists()


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_create_an_existing_db_fails(couch: Couch, tmp_db: Database, convention: str) -> None:
    with pytest.raises(PreconditionFailed):
        call(convention, lambda **kw: couch.create(tmp_db.name, **kw))
    with pytest.raises(PreconditionFailed):
        call(convention, lambda **kw: tmp_db.create(**kw))


@pytest.mark.parametrize("convention", ALL_CONVENTIONS)
def test_db_of_a_missing_database(couch: Couch, new_names: Any, convention: str) -> None:
    name = new_names()
    with pytest.raises(NotFound):
        call(convention, lambda **kw: couch.db(name, **kw))
    assert not couch[name].exists()
    db = call(convention, lambda **kw: couch.db(name, create_if_missing=True, **kw))
    assert db.name == name and db.exists()
    # again, now that it exists: both forms just check
    assert call(convention, lambda **kw: couch.db(name, create_if_missing=True, **kw)) is db
    assert call(convention, lambda **kw: couch.db(name, **kw)) is db


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_uuids(couch: Couch, convention: str) -> None:
    ids = call(convention, lambda **kw: couch.uuids(5, **kw))
    assert len(ids) == len(set(ids)) == 5 and all(isinstance(i, str) and i for i in ids)
    assert len(call(convention, lambda **kw: couch.uuids(**kw))) == 1


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_info_and_version(couch: Couch, convention: str) -> None:
    info = call(convention, lambda **kw: couch.info(**kw))
    version = call(convention, lambda **kw: couch.version(**kw))
    assert isinstance(version, str) and version == info.version
    assert info["version"] == info.version


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_tasks(couch: Couch, convention: str) -> None:
    assert isinstance(call(convention, lambda **kw: couch.tasks(**kw)), list)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_system_databases(couch: Couch, convention: str) -> None:
    assert couch.replicator.name == "_replicator" and couch.users.name == "_users"
    assert call(convention, lambda **kw: couch.replicator.exists(**kw)) is True
    assert call(convention, lambda **kw: couch.users.exists(**kw)) is True
    assert couch["_users"] is couch.users


def test_wrong_password_is_unauthorized(
    couchdb_url: str, throwaway_user: Callable[[], tuple[str, str]]
) -> None:
    parts = urlsplit(couchdb_url)
    user, _ = throwaway_user()  # never the admin's name: failed logins lock an account
    base = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))
    couch = Couch(base, auth=(user, "definitely-wrong"))
    for convention in CONVENTIONS:
        with pytest.raises(Unauthorized) as info:
            call(convention, lambda **kw: couch.info(**kw))
        assert "definitely-wrong" not in str(info.value)


# -- Database ------------------------------------------------------------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_exists_and_info(couch: Couch, tmp_db: Database, convention: str) -> None:
    assert call(convention, lambda **kw: tmp_db.exists(**kw)) is True
    missing = couch[f"corduroy-core-missing-{uuid.uuid4().hex[:8]}"]
    assert call(convention, lambda **kw: missing.exists(**kw)) is False
    tmp_db.save([{"_id": "a"}, {"_id": "b"}])
    info = call(convention, lambda **kw: tmp_db.info(**kw))
    assert info.doc_count == 2 and info.db_name == tmp_db.name
    assert info.update_seq is not None  # opaque: an int here, a string on CouchDB 3
    with pytest.raises(NotFound):
        call(convention, lambda **kw: missing.info(**kw))


@pytest.mark.parametrize("convention", ALL_CONVENTIONS)
def test_save_and_get_one(tmp_db: Database, convention: str) -> None:
    ollie = {"_id": "lackey-129", "first": "Oliver", "last": "Reeder", "office": "Richmond Terrace"}
    outcome = call(convention, lambda **kw: tmp_db.save(ollie, **kw))
    assert repr(outcome) == "<Success: 1 doc updated>"
    assert ollie["_rev"].startswith("1-")
    doc = call(convention, lambda **kw: tmp_db.get("lackey-129", **kw))
    assert type(doc) is Document and doc == ollie
    assert repr(doc) == (
        '<Document lackey-129[1] {first:"Oliver", last:"Reeder", office:"Richmond Terrace"}>'
    )
    del doc.office
    doc.education = "Oxbridge"
    call(convention, lambda **kw: tmp_db.save(doc, **kw))
    assert repr(doc) == (
        '<Document lackey-129[2] {first:"Oliver", last:"Reeder", education:"Oxbridge"}>'
    )
    assert tmp_db.get("lackey-129") == doc


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_save_without_id_uses_server_uuids(tmp_db: Database, convention: str) -> None:
    anon = {"first": "Julius", "last": "Nicholson"}
    more = [{"n": 1}, {"n": 2}]
    call(convention, lambda **kw: tmp_db.save(anon, **kw))
    call(convention, lambda **kw: tmp_db.save(more, **kw))
    ids = [anon["_id"], more[0]["_id"], more[1]["_id"]]
    assert len(set(ids)) == 3 and all(isinstance(i, str) and len(i) >= 32 for i in ids)
    assert anon["_rev"].startswith("1-") and more[1]["_rev"].startswith("1-")
    assert tmp_db.get(ids) == [anon, *more]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_save_a_list_reports_conflicts(tmp_db: Database, convention: str) -> None:
    docs: list[Any] = [{"_id": "first", "n": 1}, {"_id": "second", "n": 2}]
    conflicts = call(convention, lambda **kw: tmp_db.save(docs, **kw))
    assert repr(conflicts) == "<Success: 2 docs updated>"
    assert docs[0]["_rev"].startswith("1-") and docs[1]["_rev"].startswith("1-")
    first_rev = docs[0]["_rev"]
    del docs[1]["_rev"]
    conflicts = call(convention, lambda **kw: tmp_db.save(docs, **kw))
    assert repr(conflicts) == "<Conflict: second>"
    assert list(conflicts.pending) == ["second"]
    assert docs[0]["_rev"].startswith("2-") and docs[0]["_rev"] != first_rev
    assert "_rev" not in docs[1]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_large_answers_arrive_whole(tmp_db: Database, convention: str) -> None:
    # answers over wire.DIRECT_MIN are received into one buffer of their length
    docs: list[Any] = [{"_id": f"big{i:05d}", "n": i} for i in range(5000)]
    outcome = call(convention, lambda **kw: tmp_db.save(docs, **kw))
    assert repr(outcome) == "<Success: 5000 docs updated>"
    assert all(doc["_rev"].startswith("1-") for doc in docs)
    large = {"_id": "large", "text": "é" * 200_000, "list": list(range(20_000))}
    call(convention, lambda **kw: tmp_db.save(large, **kw))
    got = call(convention, lambda **kw: tmp_db.get("large", **kw))
    assert got == large and type(got) is Document
    fetched = call(convention, lambda **kw: tmp_db.get([d["_id"] for d in docs], **kw))
    assert [d.n for d in fetched] == list(range(5000))
    assert [d["_rev"] for d in fetched] == [d["_rev"] for d in docs]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_save_one_with_a_stale_rev_raises(tmp_db: Database, convention: str) -> None:
    doc = {"_id": "d", "v": 1}
    tmp_db.save(doc)
    stale = {**doc}
    tmp_db.save(doc)
    with pytest.raises(Conflict):
        call(convention, lambda **kw: tmp_db.save(stale, **kw))


@pytest.mark.parametrize("convention", ALL_CONVENTIONS)
def test_get_many_in_order_with_none(tmp_db: Database, convention: str) -> None:
    docs = [{"_id": f"k{i}", "n": i} for i in range(4)]
    tmp_db.save(docs)
    tmp_db.delete(docs[2])
    ids = ["k3", "nope", "k0", "k2", "k1"]
    found = call(convention, lambda **kw: tmp_db.get(ids, **kw))
    assert [d and d.n for d in found] == [3, None, 0, None, 1]
    assert all(type(d) is Document for d in found if d is not None)
    assert call(convention, lambda **kw: tmp_db.get([], **kw)) == []


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_get_options(tmp_db: Database, convention: str) -> None:
    doc = {"_id": "r", "v": 1}
    tmp_db.save(doc)
    rev1 = doc["_rev"]
    doc["v"] = 2
    tmp_db.save(doc)
    old = call(convention, lambda **kw: tmp_db.get("r", rev=rev1, **kw))
    assert old.v == 1 and old._rev == rev1
    revs = call(convention, lambda **kw: tmp_db.get("r", revs=True, **kw))
    assert revs._revisions.start == 2 and len(revs._revisions.ids) == 2
    info = call(convention, lambda **kw: tmp_db.get("r", revs_info=True, **kw))
    assert [r.rev for r in info._revs_info] == [doc["_rev"], rev1]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_get_conflicts(tmp_db: Database, convention: str) -> None:
    branches = [
        {"_id": "c", "_rev": "1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "v": "a"},
        {"_id": "c", "_rev": "1-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "v": "b"},
    ]
    tmp_db.save(branches, new_edits=False)
    doc = call(convention, lambda **kw: tmp_db.get("c", conflicts=True, **kw))
    assert doc._rev == "1-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"  # the higher rev wins
    assert doc._conflicts == ["1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
    assert "_conflicts" not in tmp_db.get("c")


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_get_missing_raises_not_found(tmp_db: Database, convention: str) -> None:
    with pytest.raises(NotFound):
        call(convention, lambda **kw: tmp_db.get("nope", **kw))
    doc = {"_id": "gone"}
    tmp_db.save(doc)
    tmp_db.delete(doc)
    with pytest.raises(NotFound):
        call(convention, lambda **kw: tmp_db.get("gone", **kw))


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_delete(tmp_db: Database, convention: str) -> None:
    doc = {"_id": "x", "v": 1}
    tmp_db.save(doc)
    stale = {**doc}
    doc["v"] = 2
    tmp_db.save(doc)
    with pytest.raises(Conflict):
        call(convention, lambda **kw: tmp_db.delete(stale, **kw))
    live_rev = doc["_rev"]
    result = call(convention, lambda **kw: tmp_db.delete(doc, **kw))
    assert result.ok and doc["_rev"] != live_rev and doc["_rev"].startswith("3-")
    assert tmp_db.rev("x") is None
    other = {"_id": "y"}
    tmp_db.save(other)
    call(convention, lambda **kw: tmp_db.delete("y", other["_rev"], **kw))
    assert call(convention, lambda **kw: tmp_db.rev("y", **kw)) is None


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_rev(tmp_db: Database, convention: str) -> None:
    doc = {"_id": "r"}
    tmp_db.save(doc)
    assert call(convention, lambda **kw: tmp_db.rev("r", **kw)) == doc["_rev"]


IDS = [
    "ünïcødé-✓",
    "a+b",
    "what?",
    "x&y=1",
    "c#sharp",
    "with space",
    "a/b",
    "100%",
    "user:1@x",
    "_design/app",
    "_design/a/b",
    "_local/check point",
]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_awkward_ids_round_trip(tmp_db: Database, convention: str) -> None:
    for docid in IDS:
        doc = {"_id": docid, "id_was": docid}
        call(convention, lambda **kw: tmp_db.save(doc, **kw))  # noqa: B023
        got = call(convention, lambda **kw: tmp_db.get(docid, **kw))  # noqa: B023
        assert got._id == docid and got.id_was == docid
        assert call(convention, lambda **kw: tmp_db.rev(docid, **kw)) == doc["_rev"]  # noqa: B023
    listed = [i for i in IDS if not i.startswith("_local/")]
    assert [d and d._id for d in tmp_db.get(listed)] == listed
    assert set(tmp_db) == set(listed)


# -- the mapping protocol (blocking only) --------------------------------------------


def test_mapping_protocol(tmp_db: Database) -> None:
    tmp_db["a/b"] = {"n": 1}
    doc = tmp_db["a/b"]
    assert doc._id == "a/b" and doc.n == 1
    assert "a/b" in tmp_db and "nope" not in tmp_db and 5 not in tmp_db
    assert len(tmp_db) == 1
    doc.n = 2
    tmp_db["a/b"] = doc  # an update: the doc carries its _rev
    assert tmp_db["a/b"].n == 2
    del tmp_db["a/b"]
    assert "a/b" not in tmp_db and len(tmp_db) == 0
    with pytest.raises(NotFound):
        tmp_db["a/b"]
    with pytest.raises(NotFound):
        del tmp_db["a/b"]
    with pytest.raises(KeyError):  # NotFound is a KeyError, as a mapping should raise
        tmp_db["never"]


def test_iteration_crosses_page_boundaries(tmp_db: Database) -> None:
    ids = [f"doc-{i:05d}" for i in range(1003)]
    outcome = tmp_db.save([{"_id": i} for i in ids])
    assert outcome.ok
    assert list(tmp_db) == ids
    assert len(tmp_db) == 1003


def test_mapping_protocol_refuses_inside_a_running_loop(tmp_db: Database) -> None:
    tmp_db.save({"_id": "a"})
    attempts: list[Callable[[], Any]] = [
        lambda: tmp_db["a"],
        lambda: "a" in tmp_db,
        lambda: len(tmp_db),
        lambda: tmp_db.__setitem__("b", {}),
        lambda: tmp_db.__delitem__("a"),
        lambda: iter(tmp_db),
    ]
    made_outside = iter(tmp_db)  # an iterator made before the loop ran, read inside it
    attempts.append(lambda: next(made_outside))

    async def main() -> None:
        for attempt in attempts:
            with pytest.raises(RuntimeError, match="running event loop") as info:
                attempt()
            assert "await" in str(info.value)
        assert (await tmp_db.get("a"))._id == "a"  # the method form works

    asyncio.run(main())
    assert "a" in tmp_db and "b" not in tmp_db  # nothing was done


def test_couch_answers_in_and_iteration(couch: Couch, tmp_db: Database) -> None:
    assert tmp_db.name in couch and tmp_db.name in list(couch)
    missing = f"corduroy-missing-{uuid.uuid4().hex[:8]}"
    assert missing not in couch and missing not in list(couch)
    # names no database can have, and things that are not names: simply absent
    assert "Not A Valid Name" not in couch and "" not in couch and 0 not in couch

    async def main() -> None:
        for attempt in (lambda: tmp_db.name in couch, lambda: iter(couch)):
            with pytest.raises(RuntimeError, match="running event loop"):
                attempt()
        assert tmp_db.name in await couch.all_dbs()  # the method form works

    asyncio.run(main())


def test_max_connections_bounds_the_pool(couchdb_url: str, tmp_db: Database) -> None:
    # (waiting longer than connect_timeout for a connection: tests/unit/http/test_transports.py)
    tmp_db.save([{"_id": f"d{i}"} for i in range(3)])
    small = Couch(couchdb_url, max_connections=1)
    db = small[tmp_db.name]

    async def many() -> list[str]:  # 20 tasks queue for the one connection; none fails
        docs = await asyncio.gather(*(db.get(f"d{i % 3}") for i in range(20)))
        return [doc["_id"] for doc in docs]

    assert asyncio.run(many()) == [f"d{i % 3}" for i in range(20)]
    with ThreadPoolExecutor(8) as threads:  # and 8 threads
        got = list(threads.map(lambda i: db.get(f"d{i % 3}")["_id"], range(40)))
    assert got == [f"d{i % 3}" for i in range(40)]
    for bad in (0, -1, 2.5, "10"):
        with pytest.raises(InvalidInput, match="max_connections"):
            Couch(couchdb_url, max_connections=bad)  # type: ignore[arg-type]
