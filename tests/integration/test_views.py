"""Views, _all_docs and temporary views against the live server, in every convention."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import pytest

from conventions import CONVENTIONS, call
from corduroy import BadRequest, Database, InvalidInput, NotFound, View

NAMES = ["fig", "apple", "date", "cherry", "banana", "apple", "elder", "grape", "kiwi", "lime"]

DDOC = {
    "_id": "_design/d",
    "views": {
        "by_name": {"map": "function(doc) { if (doc.name) emit(doc.name, doc.n); }"},
        "count": {
            "map": "function(doc) { if (doc.name) emit([doc.kind, doc.name], 1); }",
            "reduce": "_count",
        },
        "sum": {
            "map": "function(doc) { if (doc.name) emit([doc.kind, doc.n % 3], doc.n); }",
            "reduce": "_sum",
        },
        "mixed": {"map": "function(doc) { if ('k' in doc) emit(doc.k, doc._id); }"},
    },
}


def docs() -> list[dict[str, Any]]:
    return [
        {"_id": f"p{i:02d}", "name": name, "n": i, "kind": "tree" if i % 2 else "bush"}
        for i, name in enumerate(NAMES)
    ]


@pytest.fixture
def db(tmp_db: Database) -> Database:
    tmp_db.save([dict(DDOC), *docs()])
    return tmp_db


def by_name() -> list[tuple[str, str, int]]:
    """(key, id, value) of every by_name row, in view order, computed from the data."""
    return sorted((d["name"], d["_id"], d["n"]) for d in docs())


def triples(view: Any) -> list[tuple[Any, Any, Any]]:
    return [(row.key, row.id, row.value) for row in view]


def map_cases() -> list[tuple[dict[str, Any], list[tuple[str, str, int]]]]:
    rows = by_name()
    return [
        ({}, rows),
        ({"key": "apple"}, [r for r in rows if r[0] == "apple"]),
        ({"keys": ["lime", "nope", "apple"]},
         [r for r in rows if r[0] == "lime"] + [r for r in rows if r[0] == "apple"]),
        ({"startkey": "b", "endkey": "d"}, [r for r in rows if "b" <= r[0] <= "d"]),
        ({"start_key": "b", "end_key": "date"}, [r for r in rows if "b" <= r[0] <= "date"]),
        ({"startkey": "b", "endkey": "date", "inclusive_end": False},
         [r for r in rows if "b" <= r[0] < "date"]),
        ({"limit": 3, "skip": 2}, rows[2:5]),
        ({"descending": True, "startkey": "e", "endkey": "b"},
         sorted([r for r in rows if "b" <= r[0] <= "e"], reverse=True)),
        ({"stale": "ok"}, rows),
        ({"conflicts": True, "include_docs": True, "limit": 1}, rows[:1]),
    ]  # fmt: skip


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_every_map_option(db: Database, convention: str) -> None:
    for options, expected in map_cases():
        view = call(convention, lambda **kw: db.view("d/by_name", **options, **kw))  # noqa: B023
        assert isinstance(view, View)
        assert triples(view) == expected, options
        assert view.options == options
    view = call(convention, lambda **kw: db.view("_design/d/_view/by_name", update_seq=True, **kw))
    assert triples(view) == by_name()  # pouchdb-server sends update_seq after the rows
    assert view.update_seq is not None and view.total_rows == len(NAMES)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_include_docs_and_all_docs(db: Database, convention: str) -> None:
    view = call(convention, lambda **kw: db.view("d/by_name", key="kiwi", include_docs=True, **kw))
    assert view[0].doc == {**docs()[8], "_rev": view[0].doc._rev}
    everything = call(convention, lambda **kw: db.all_docs(include_docs=True, **kw))
    assert [row.id for row in everything] == sorted(["_design/d", *(d["_id"] for d in docs())])
    assert everything.total_rows == len(NAMES) + 1 and everything.offset == 0
    some = call(convention, lambda **kw: db.all_docs(keys=["p03", "nope"], include_docs=True, **kw))
    assert some[0].doc.name == "cherry"
    assert (some[1].key, some[1].error, some[1].doc) == ("nope", "not_found", None)
    ranged = call(convention, lambda **kw: db.view("_all_docs", startkey="p08", **kw))
    assert [row.id for row in ranged] == ["p08", "p09"]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_reduce_group_and_group_level(db: Database, convention: str) -> None:
    data = docs()
    total = call(convention, lambda **kw: db.view("d/count", **kw))
    assert triples(total) == [(None, None, len(data))]
    grouped = call(convention, lambda **kw: db.view("d/count", group=True, **kw))
    pairs = sorted({(d["kind"], d["name"]) for d in data})
    want = [([k, n], sum(1 for d in data if (d["kind"], d["name"]) == (k, n))) for k, n in pairs]
    assert [(r.key, r.value) for r in grouped] == want
    level1 = call(convention, lambda **kw: db.view("d/sum", group_level=1, **kw))
    sums = {k: sum(d["n"] for d in data if d["kind"] == k) for k in ("bush", "tree")}
    assert [(r.key, r.value) for r in level1] == [
        (["bush"], sums["bush"]),
        (["tree"], sums["tree"]),
    ]
    rows = call(convention, lambda **kw: db.view("d/count", reduce=False, limit=2, **kw))
    assert [r.id for r in rows] == [
        d["_id"] for d in sorted(data, key=lambda d: (d["kind"], d["name"], d["_id"]))
    ][:2]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_missing_view_and_bad_options_raise(db: Database, convention: str) -> None:
    with pytest.raises(NotFound):
        call(convention, lambda **kw: db.view("d/nope", **kw))
    with pytest.raises(NotFound):
        call(convention, lambda **kw: db.view("nope/v", **kw))
    with pytest.raises(BadRequest):
        call(convention, lambda **kw: db.view("d/by_name", limit="abc", **kw))


MIXED = [None, False, True, -1, 0, 2.5, 10, "a", "b", "ba", ["a"], ["a", "b"], ["b"], {"a": 1}]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_collation_of_mixed_key_types(tmp_db: Database, convention: str) -> None:
    tmp_db.save(
        [dict(DDOC), *({"_id": f"k{i:02d}", "k": k} for i, k in reversed(list(enumerate(MIXED))))]
    )
    view = call(convention, lambda **kw: tmp_db.view("d/mixed", **kw)).rows  # keep them
    assert [row.key for row in view] == MIXED
    typed = [type(row.key) for row in view]
    assert typed[:3] == [type(None), bool, bool] and typed[5] is float


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_unicode_keys(tmp_db: Database, convention: str) -> None:
    keys = ["é", "日本語", "emoji 🛋", "a+b&c=d?#", 'quote " and \\']
    tmp_db.save([dict(DDOC), *({"_id": f"u{i}", "k": k} for i, k in enumerate(keys))])
    for i, key in enumerate(keys):
        view = call(convention, lambda **kw: tmp_db.view("d/mixed", key=key, **kw))  # noqa: B023
        assert triples(view) == [(key, f"u{i}", f"u{i}")]
    many = call(convention, lambda **kw: tmp_db.view("d/mixed", keys=keys[::-1], **kw))
    assert [row.key for row in many] == keys[::-1]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_view_is_a_read_only_sequence_in_every_convention(db: Database, convention: str) -> None:
    view = call(convention, lambda **kw: db.view("d/by_name", **kw))
    assert triples(list(view)) == triples(view) == triples(tuple(view)) == by_name()
    assert len(view) == len(NAMES) and view.total_rows == len(NAMES) and view
    assert view[0].key == "apple" and view[-1].key == "lime"
    assert [row.key for row in view[1:3]] == ["apple", "banana"]
    assert view[3] in view and view.index(view[3]) == 3
    assert [row.id for row in sorted(view, key=lambda row: row.value)][:2] == ["p00", "p01"]
    assert repr(view) == f"<d/by_name: {len(NAMES)}/{len(NAMES)} rows>"
    empty = call(convention, lambda **kw: db.view("d/by_name", startkey="zzz", **kw))
    assert not empty and list(empty) == [] and len(empty) == 0
    every = call(convention, lambda **kw: db.all_docs(**kw))
    assert [row.id for row in every] == [row.id for row in list(every)]
    found = call(convention, lambda **kw: db.find({"n": {"$gte": 8}}, **kw))
    assert sorted(doc["_id"] for doc in found) == ["p08", "p09"] and len(list(found)) == 2


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_rows_read_as_the_original_corduroy(db: Database, convention: str) -> None:
    view = call(convention, lambda **kw: db.view("d/by_name", key="fig", **kw))
    assert repr(view[0]) == '<Row "fig" p00 / 0>'
    missing = call(convention, lambda **kw: db.all_docs(keys=["blah"], **kw))
    assert repr(missing[0]) == '<Row "blah" / None \u00abnot_found\u00bb>'
    total = call(convention, lambda **kw: db.view("d/sum", **kw))
    assert repr(total[0]) == f"<Row / {sum(range(len(NAMES)))}>"
    with_doc = call(convention, lambda **kw: db.all_docs(key="p01", include_docs=True, **kw))
    assert repr(with_doc[0]).startswith('<Row+ "p01" p01 / rev:1-')


def test_stream_true_streams_once_with_for_and_async_for(db: Database) -> None:
    with db.view("d/by_name", stream=True) as rows:
        assert rows.total_rows == len(NAMES)
        assert triples(rows) == by_name()
        with pytest.raises(RuntimeError, match="read once and not kept"):
            list(rows)

    async def streamed() -> list[tuple[Any, Any, Any]]:
        rows = await db.view("d/by_name", stream=True)
        return [(row.key, row.id, row.value) async for row in rows]

    assert asyncio.run(streamed()) == by_name()
    with pytest.raises(InvalidInput, match="stream=True"):
        db.view("d/by_name", stream=True, callback=lambda data, status: None)
    every = [row.id for row in db.all_docs(stream=True)]
    assert every == [row.id for row in db.all_docs()]


def test_unread_blocking_views_release_their_connections(db: Database) -> None:
    view = db.view("d/by_name")
    assert view.total_rows == len(NAMES)  # known before any row is read
    for _ in range(30):  # abandoned views must not exhaust the pool
        unread = db.view("d/by_name")
        del unread
        with db.view("d/by_name"):
            pass
        for _row in db.view("d/by_name", stream=True):
            break
    gc.collect()
    assert len(db.view("d/by_name")) == len(NAMES)
    assert triples(view) == triples(view) == by_name()


@pytest.mark.parametrize("batch", [1, 2, 3, 100])
def test_iterview_blocking_and_async(db: Database, batch: int) -> None:
    assert triples(db.iterview("d/by_name", batch=batch)) == by_name()
    assert triples(db.iterview("d/by_name", batch=batch, limit=5, skip=1)) == by_name()[1:6]
    assert [r.key for r in db.iterview("d/by_name", batch=batch, keys=["kiwi", "apple"])] == [
        "kiwi", "apple", "apple",
    ]  # fmt: skip
    assert [r.id for r in db.iterview("_all_docs", batch=batch)][-1] == "p09"

    async def collect() -> list[tuple[Any, Any, Any]]:
        return [(r.key, r.id, r.value) async for r in db.iterview("d/by_name", batch=batch)]

    assert asyncio.run(collect()) == by_name()
    grouped = [(r.key, r.value) for r in db.iterview("d/count", batch=batch, group_level=1)]
    assert grouped == [(["bush"], 5), (["tree"], 5)]


def test_iterview_refuses_to_block_a_running_loop(db: Database) -> None:
    async def misuse() -> None:
        for _ in db.iterview("d/by_name"):
            pass

    with pytest.raises(RuntimeError, match="async for"):
        asyncio.run(misuse())


QUERY_MAP = "function(doc) { if (doc.name) emit(doc.n, null); }"


def query_ddocs(db: Database) -> list[str]:
    rows = db.view("_all_docs", startkey="_design/", endkey="_design0").rows
    return [row.id for row in rows if row.id.startswith("_design/corduroy-query-")]


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("design", [None, True], ids=["auto", "design"])
def test_query_runs_functions_saved_nowhere(
    db: Database, convention: str, design: bool | None
) -> None:
    # auto: _temp_view where the server has it (pouchdb-server), a hashed design
    # document where it answers 410 (CouchDB 2+); design=True forces the latter anywhere
    try:
        view = call(
            convention,
            lambda **kw: db.query(QUERY_MAP, limit=3, descending=True, design=design, **kw),
        )
        assert [row.key for row in view] == [9, 8, 7]
        reduced = call(
            convention, lambda **kw: db.query(QUERY_MAP, "\n  _count", design=design, **kw)
        )
        assert reduced[0].value == len(NAMES)
        keyed = call(convention, lambda **kw: db.query(QUERY_MAP, keys=[2, 5], design=design, **kw))
        assert [row.key for row in keyed] == [2, 5]
        if convention == "blocking":  # constant memory, on either path
            streamed = db.query(QUERY_MAP, limit=2, stream=True, design=design)
            assert [row.key for row in streamed] == [0, 1]
    finally:
        db.query_cleanup()
    assert query_ddocs(db) == []


def test_query_design_documents_are_reused_and_cleaned_up(db: Database) -> None:
    assert [r.key for r in db.query(QUERY_MAP, design=True, limit=1)] == [0]
    (ddoc,) = query_ddocs(db)
    rev = db.get(ddoc)["_rev"]
    assert [r.key for r in db.query(QUERY_MAP, design=True, skip=9)] == [9]
    assert query_ddocs(db) == [ddoc] and db.get(ddoc)["_rev"] == rev  # reused as it was
    db.query(QUERY_MAP, "_count", design=True)  # other functions: another design doc
    assert len(query_ddocs(db)) == 2
    assert db.query_cleanup() == 2
    assert query_ddocs(db) == [] and db.query_cleanup() == 0
    once = db.query(QUERY_MAP, design=True, cleanup=True)  # removed right after the query
    assert len(once) == len(NAMES) and [r.key for r in once][:2] == [0, 1]
    assert query_ddocs(db) == []


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_design_info_compact_and_cleanup(db: Database, convention: str) -> None:
    db.view("d/by_name", limit=1).close()
    info = call(convention, lambda **kw: db.info("d", **kw))
    assert "view_index" in info
    assert call(convention, lambda **kw: db.info(**kw)).doc_count == len(NAMES) + 1
    assert call(convention, lambda **kw: db.compact(**kw)).ok
    assert call(convention, lambda **kw: db.cleanup(**kw)).ok


@pytest.mark.real_couchdb
@pytest.mark.parametrize("convention", CONVENTIONS)
def test_couchdb_only_options(db: Database, convention: str) -> None:
    assert len(db.view("d/by_name")) == len(NAMES)  # builds the index
    db.save({"_id": "zz", "name": "zucchini", "n": 99})
    stale = call(convention, lambda **kw: db.view("d/by_name", update=False, **kw))
    assert triples(stale) == by_name()  # the new doc is not indexed yet
    db.delete("zz", db.rev("zz"))
    assert triples(call(convention, lambda **kw: db.view("d/by_name", update="lazy", **kw)))
    unsorted = call(convention, lambda **kw: db.view("d/by_name", sorted=False, **kw))
    assert sorted(triples(unsorted)) == by_name() and unsorted.total_rows is None
    stable = call(convention, lambda **kw: db.view("d/by_name", stable=True, **kw))
    assert triples(stable) == by_name()
    # pouchdb-server ignores startkey_docid and endkey_docid on views
    after = call(convention, lambda **kw: db.view("d/by_name", startkey="apple",
                                                  startkey_docid="p05", **kw))  # fmt: skip
    assert triples(after) == by_name()[1:]
    before = call(convention, lambda **kw: db.view("d/by_name", endkey="apple",
                                                   endkey_docid="p01", **kw))  # fmt: skip
    assert triples(before) == by_name()[:1]
    info = call(convention, lambda **kw: db.info("_design/d", **kw))
    assert info.name == "d" and info.view_index.signature
    assert call(convention, lambda **kw: db.compact("d", **kw)).ok
