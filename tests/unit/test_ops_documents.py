"""Document operations driven by hand against recorded CouchDB 3.4.3 exchanges."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pytest

from corduroy import Conflict, Document, InvalidInput, NotFound, TransportError
from corduroy.http.messages import Headers, Response
from corduroy.ops import documents as ops
from corduroy.ops.base import doc_path
from corduroy.ops.server import UuidCache
from unit.core_recorded import (
    answer,
    assert_matches,
    body_json,
    error_of,
    exchange,
    finish,
    json_response,
    replay,
)


def docs(name: str) -> dict[str, Any]:
    return exchange("documents", name)


def dbs(name: str) -> dict[str, Any]:
    return exchange("databases", name)


@pytest.fixture
def ref() -> ops.DbRef:
    return ops.DbRef("docs")


# -- id quoting, as the recorded CouchDB 3 requests spell ids ---------------------------


@pytest.mark.parametrize(
    "case",
    [
        "id_slash_put",
        "id_unicode_put",
        "id_space_put",
        "id_plus_put",
        "id_question_put",
        "id_hash_put",
        "id_percent_put",
        "id_colon_at_put",
        "id_design_put",
        "id_local_put",
    ],
)
def test_put_quotes_the_id_as_couchdb_3_expects(ref: ops.DbRef, case: str) -> None:
    recorded = docs(case)
    body = recorded["request"]["body"]
    docid = recorded["response"]["body"]["id"]
    doc = {"_id": docid, **body}
    result = replay(ops.put_doc(ref, doc), recorded)
    assert result.ok is True and result.id == docid
    assert doc["_rev"] == recorded["response"]["body"]["rev"]


@pytest.mark.parametrize(
    ("docid", "path"),
    [
        ("a/b", "/db/a%2Fb"),
        ("a+b", "/db/a%2Bb"),
        ("what?", "/db/what%3F"),
        ("x&y=1", "/db/x%26y%3D1"),
        ("c#sharp", "/db/c%23sharp"),
        ("with space", "/db/with%20space"),
        ("100%", "/db/100%25"),
        ("ünïcødé-✓", "/db/%C3%BCn%C3%AFc%C3%B8d%C3%A9-%E2%9C%93"),
        ("_design/app", "/db/_design/app"),
        ("_design/a/b", "/db/_design/a%2Fb"),
        ("_local/cp", "/db/_local/cp"),
        ("_local/a b", "/db/_local/a%20b"),
        ("_designer", "/db/_designer"),
        ("x_design/y", "/db/x_design%2Fy"),
    ],
)
def test_doc_path(docid: str, path: str) -> None:
    assert doc_path("db", docid) == path
    assert unquote(path.split("/", 2)[2]) == docid  # the server decodes back to the id


def test_doc_path_under_a_database_name_with_a_slash() -> None:
    assert doc_path("team/data", "a/b") == "/team%2Fdata/a%2Fb"
    assert ops.DbRef("team/data").path == "/team%2Fdata"


@pytest.mark.parametrize("docid", ["a/b", "a+b", "what?", "x&y", "c#d", "sp ace", "ünï✓"])
def test_get_sends_the_quoted_id_and_returns_the_document(ref: ops.DbRef, docid: str) -> None:
    op = ops.get_doc(ref, docid)
    req = next(op)
    assert req.method == "GET" and req.query == "" and req.body is None
    assert unquote(req.path) == "/docs/" + docid
    assert "/" not in req.path[len("/docs/") :]
    with pytest.raises(StopIteration) as stop:
        op.send(json_response(200, {"_id": docid, "_rev": "1-a", "v": 1}))
    assert isinstance(stop.value.value, Document)
    assert stop.value.value._id == docid


# -- get -----------------------------------------------------------------------------


def test_get_returns_a_document(ref: ops.DbRef) -> None:
    doc = replay(ops.get_doc(ref, "doc1"), docs("doc_get"))
    assert type(doc) is Document
    rev = "1-2ca0ce4371704a9999c426c85b5ee781"
    assert doc == {"_id": "doc1", "_rev": rev, "name": "apple", "n": 1}
    assert doc.name == "apple"


def test_get_uses_the_database_document_class() -> None:
    class Person(Document):
        pass

    ref = ops.DbRef("docs", doc_class=Person)
    assert type(replay(ops.get_doc(ref, "doc1"), docs("doc_get"))) is Person


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("doc_get_rev", {"rev": "1-2ca0ce4371704a9999c426c85b5ee781"}),
        ("doc_get_revs", {"revs": True}),
        ("doc_get_revs_info", {"revs_info": True}),
    ],
)
def test_get_options(ref: ops.DbRef, case: str, options: dict[str, Any]) -> None:
    recorded = docs(case)
    doc = replay(ops.get_doc(ref, "doc1", **options), recorded)
    assert doc == recorded["response"]["body"]


def test_get_conflicts(ref: ops.DbRef) -> None:
    doc = replay(ops.get_doc(ref, "conf", conflicts=True), docs("doc_get_conflicts"))
    assert doc._conflicts == ["1-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]


def test_get_open_revs_list_gives_none_for_a_missing_rev(ref: ops.DbRef) -> None:
    revs = ["2-cd838b951cd0f345d41e324be1e3ba27", "3-77777777777777777777777777777777"]
    found = replay(ops.get_doc(ref, "doc1", open_revs=revs), docs("doc_get_open_revs_list_json"))
    assert found[1] is None
    assert isinstance(found[0], Document) and found[0]._rev == revs[0]


def test_get_leaves_out_none_options(ref: ops.DbRef) -> None:
    req = next(ops.get_doc(ref, "doc1", rev=None, revs=False))
    assert req.query == "revs=false"


@pytest.mark.parametrize("case", ["doc_get_deleted_404", "doc_get_never_existed_404"])
def test_get_missing_raises_not_found_out_of_the_op(ref: ops.DbRef, case: str) -> None:
    recorded = docs(case)
    op = ops.get_doc(ref, recorded["request"]["path"].rsplit("/", 1)[1])
    req = next(op)
    assert_matches(req, recorded)
    with pytest.raises(NotFound) as info:
        answer(op, req, recorded)
    assert info.value.reason == recorded["response"]["body"]["reason"]
    assert isinstance(info.value, KeyError)


# -- get many ------------------------------------------------------------------------


def test_get_many_in_order_with_none_for_missing_and_deleted() -> None:
    recorded = dbs("all_docs_keys_post_include_docs")
    found = replay(ops.get_docs(ops.DbRef("db1"), ["doc3", "nope", "doc6"]), recorded)
    assert len(found) == 3
    assert found[1] is None and found[2] is None
    assert isinstance(found[0], Document) and found[0]._id == "doc3" and found[0].n == 3


def test_get_many_is_one_idempotent_post(ref: ops.DbRef) -> None:
    req = next(ops.get_docs(ref, ["a/b", "c"]))
    assert (req.method, req.path, req.query) == ("POST", "/docs/_all_docs", "include_docs=true")
    assert body_json(req) == {"keys": ["a/b", "c"]}
    assert req.is_idempotent


def test_get_many_of_nothing_sends_nothing(ref: ops.DbRef) -> None:
    with pytest.raises(StopIteration) as stop:
        next(ops.get_docs(ref, []))
    assert stop.value.value == []


# -- rev -----------------------------------------------------------------------------


def test_rev_reads_the_etag_of_a_head(ref: ops.DbRef) -> None:
    rev = replay(ops.doc_rev(ref, "doc1"), docs("doc_head"))
    assert rev == "1-2ca0ce4371704a9999c426c85b5ee781"


def test_rev_of_a_missing_doc_is_none(ref: ops.DbRef) -> None:
    assert replay(ops.doc_rev(ref, "nope"), docs("doc_head_missing_404")) is None


def test_rev_falls_back_to_get_when_the_etag_is_not_a_rev(ref: ops.DbRef) -> None:
    op = ops.doc_rev(ref, "_local/x")
    head = next(op)
    assert (head.method, head.path) == ("HEAD", "/docs/_local/x")
    etag = Headers({"ETag": '"D3ZYM4T7BCQ128U7SP194MP16"'})
    get = op.send(Response(200, etag, b""))
    assert_matches(get, docs("id_local_get"))
    assert finish(op, get, docs("id_local_get")) == "0-1"


def test_rev_with_pouchdb_weak_etag(ref: ops.DbRef) -> None:
    op = ops.doc_rev(ref, "x")
    next(op)
    get = op.send(Response(200, Headers({"ETag": 'W/"41-abcdef"'}), b""))
    assert get.method == "GET"
    with pytest.raises(StopIteration) as stop:
        op.send(json_response(200, {"_id": "x", "_rev": "3-abc"}))
    assert stop.value.value == "3-abc"


# -- save ----------------------------------------------------------------------------


def test_put_sets_rev_in_place(ref: ops.DbRef) -> None:
    recorded = docs("doc_put_201")
    doc = {"_id": "doc1", "name": "apple", "n": 1}
    result = replay(ops.put_doc(ref, doc), recorded)
    assert doc["_rev"] == "1-2ca0ce4371704a9999c426c85b5ee781" == result.rev
    assert list(doc) == ["_id", "name", "n", "_rev"]


def test_put_with_stale_rev_raises_conflict(ref: ops.DbRef) -> None:
    recorded = docs("doc_put_stale_rev_409")
    doc = {"_id": "doc1", **recorded["request"]["body"]}
    op = ops.put_doc(ref, doc)
    req = next(op)
    assert req.method == "PUT" and req.path == "/docs/doc1"
    with pytest.raises(Conflict) as info:
        answer(op, req, recorded)
    assert info.value.error == "conflict"
    assert doc["_rev"] == "1-2ca0ce4371704a9999c426c85b5ee781"  # untouched


def test_put_batch_ok_has_no_rev(ref: ops.DbRef) -> None:
    doc = {"_id": "batched", "x": 1}
    result = replay(ops.put_doc(ref, doc, batch="ok"), docs("doc_put_batch_ok_202"))
    assert result.ok is True and "_rev" not in doc


def test_put_without_id_takes_one_from_uuids(ref: ops.DbRef) -> None:
    doc: dict[str, Any] = {"v": 1}
    op = ops.put_doc(ref, doc)
    uuid_req = next(op)
    assert (uuid_req.method, uuid_req.path) == ("GET", "/_uuids")
    ids = [f"id{i}" for i in range(100)]
    put = op.send(json_response(200, {"uuids": ids}))
    assert put.path == "/docs/id0" and body_json(put) == {"v": 1, "_id": "id0"}
    assert doc["_id"] == "id0"
    with pytest.raises(StopIteration):
        op.send(json_response(201, {"ok": True, "id": "id0", "rev": "1-x"}))
    assert doc["_rev"] == "1-x"
    assert len(ref.uuids) == 99


def test_uuid_cache_one_request_serves_many_saves() -> None:
    ref = ops.DbRef("docs", UuidCache())
    uuid_requests = 0
    saved = []
    for i in range(150):
        doc: dict[str, Any] = {"n": i}
        op = ops.put_doc(ref, doc)
        req = next(op)
        if req.path == "/_uuids":
            uuid_requests += 1
            count = int(req.query.removeprefix("count="))
            fresh = [f"u{uuid_requests}-{j}" for j in range(count)]
            req = op.send(json_response(200, {"uuids": fresh}))
        assert req.method == "PUT"
        with pytest.raises(StopIteration):
            op.send(json_response(201, {"ok": True, "id": doc["_id"], "rev": "1-a"}))
        saved.append(doc["_id"])
    assert uuid_requests == 2  # 100 per batch
    assert len(set(saved)) == 150


def test_uuids_are_requested_at_most_1000_at_a_time() -> None:
    ref = ops.DbRef("docs")
    new_docs: list[dict[str, Any]] = [{"n": i} for i in range(2500)]
    op = ops.bulk_docs(ref, new_docs)
    req = next(op)
    counts = []
    while req.path == "/_uuids":
        count = int(req.query.removeprefix("count="))
        assert count <= 1000
        base = sum(counts)
        counts.append(count)
        req = op.send(json_response(200, {"uuids": [f"u{base + j}" for j in range(count)]}))
    assert sum(counts) >= 2500 and len(counts) == 3
    assert req.path == "/docs/_bulk_docs"
    assert len({d["_id"] for d in new_docs}) == 2500


def test_bulk_docs_recorded(ref: ops.DbRef) -> None:
    db1 = ops.DbRef("db1")
    db1.uuids.add(["6d22b5c5597749a7ff9d2120ac00033a"])
    new = [{"_id": "bd1", "v": 1}, {"v": 2}]
    recorded = dbs("bulk_docs_new")
    op = ops.bulk_docs(db1, new)
    req = next(op)
    assert (req.method, req.path) == ("POST", "/db1/_bulk_docs")
    assert body_json(req)["docs"] == [
        {"_id": "bd1", "v": 1},
        {"v": 2, "_id": "6d22b5c5597749a7ff9d2120ac00033a"},
    ]
    outcome = finish(op, req, recorded)
    assert outcome.failed == [] and outcome.written == new
    assert new[0]["_rev"] == "1-7a7e4b29f3af401e69b6f86e4c26b727"
    assert new[1]["_rev"] == "1-b8f97323e7f26909d5e0c8d2764a765f"


def test_bulk_docs_reports_conflicts_per_document() -> None:
    recorded = dbs("bulk_docs_conflict")
    batch = [{"_id": "bd1", "v": 3}, {"_id": "bd2", "v": 1}]
    outcome = replay(ops.bulk_docs(ops.DbRef("db1"), batch), recorded)
    assert outcome.written == [batch[1]] and batch[1]["_rev"].startswith("1-")
    assert outcome.failed == [(batch[0], "conflict", "Document update conflict.")]
    assert "_rev" not in batch[0]


def test_bulk_docs_new_edits_false_goes_in_the_body() -> None:
    recorded = dbs("bulk_docs_new_edits_false")
    batch = [{"_id": "bd1", "_rev": "1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "v": "branch"}]
    outcome = replay(ops.bulk_docs(ops.DbRef("db1"), batch, new_edits=False), recorded)
    assert outcome.written == batch and outcome.failed == []


def test_bulk_delete_sets_the_deletion_rev() -> None:
    recorded = dbs("bulk_docs_delete")
    stub = {"_id": "bd2", "_rev": "1-7a7e4b29f3af401e69b6f86e4c26b727", "_deleted": True}
    replay(ops.bulk_docs(ops.DbRef("db1"), [stub]), recorded)
    assert stub["_rev"] == "2-d9b15b235a7d0afdfe6058d5fb8afbd1"


def test_bulk_docs_whole_request_refused() -> None:
    recorded = dbs("bulk_docs_illegal_id_400")
    op = ops.bulk_docs(ops.DbRef("db1"), [{"_id": "_bogus", "v": 1}, {"_id": "bd3", "v": 1}])
    req = next(op)
    assert_matches(req, recorded)
    with pytest.raises(Exception) as info:
        answer(op, req, recorded)
    assert type(info.value) is type(error_of(req, recorded))
    assert info.value.status == 400  # type: ignore[attr-defined]


def test_save_refuses_a_non_dict(ref: ops.DbRef) -> None:
    with pytest.raises(InvalidInput, match="index 1"):
        next(ops.bulk_docs(ref, [{"_id": "a"}, ["not", "a", "doc"]]))


# -- delete --------------------------------------------------------------------------


def test_delete_a_dict_uses_and_updates_its_rev(ref: ops.DbRef) -> None:
    recorded = docs("doc_delete")
    doc = {"_id": "gone", "_rev": "1-0785e9eb543380151003dc452c3a001a"}
    result = replay(ops.delete_doc(ref, doc), recorded)
    assert result.ok is True
    assert doc["_rev"] == "2-d0ae140c7f7cdb92dd85a3e31ae18f0c"


def test_delete_by_id_and_rev(ref: ops.DbRef) -> None:
    recorded = docs("doc_delete")
    result = replay(ops.delete_doc(ref, "gone", "1-0785e9eb543380151003dc452c3a001a"), recorded)
    assert result.rev == "2-d0ae140c7f7cdb92dd85a3e31ae18f0c"


def test_delete_stale_rev_raises_conflict(ref: ops.DbRef) -> None:
    recorded = docs("doc_delete_stale_rev_409")
    op = ops.delete_doc(ref, {"_id": "doc1", "_rev": "1-2ca0ce4371704a9999c426c85b5ee781"})
    req = next(op)
    assert_matches(req, recorded)
    with pytest.raises(Conflict):
        answer(op, req, recorded)


@pytest.mark.parametrize("doc", ["doc1", {"_id": "doc1"}, {"_id": "doc1", "_rev": ""}])
def test_delete_needs_a_rev(ref: ops.DbRef, doc: Any) -> None:
    with pytest.raises(InvalidInput, match="doc1"):
        next(ops.delete_doc(ref, doc))


def _bulk_answer(batch: list[dict[str, Any]], body: bytes) -> ops.SaveResult:
    """Run ``bulk_docs`` on ``batch`` with ``body`` as the server's 201 answer."""
    op = ops.bulk_docs(ops.DbRef("db1"), batch)
    next(op)
    headers = Headers([("content-type", "application/json")])
    with pytest.raises(StopIteration) as stop:
        op.send(Response(201, headers, body))
    result: ops.SaveResult = stop.value.value
    return result


def test_bulk_answer_of_another_shape_is_read_the_general_way() -> None:
    # an error that is not a string (no server sends it; a proxy might): still per document
    batch = [{"_id": "a"}, {"_id": "b"}]
    body = b'[{"id":"a","rev":"1-x"},{"id":"b","error":{"code":7},"reason":"odd"}]'
    outcome = _bulk_answer(batch, body)
    assert outcome.written == [batch[0]] and batch[0]["_rev"] == "1-x"
    assert outcome.failed == [(batch[1], "{'code': 7}", "odd")]


def test_bulk_answer_that_is_not_a_list_is_a_clear_error() -> None:
    with pytest.raises(TransportError, match="_bulk_docs answered"):
        _bulk_answer([{"_id": "a"}], b'{"ok":true}')


def test_bulk_result_without_a_rev_leaves_that_document_as_it_was() -> None:
    batch = [{"_id": "a", "_rev": "1-old"}, {"_id": "b"}, {"_id": "c"}]
    outcome = _bulk_answer(batch, b'[{"id":"a","ok":true},{"id":"b","rev":"1-b"},{"id":"c"}]')
    assert [doc.get("_rev") for doc in batch] == ["1-old", "1-b", None]
    assert "_rev" not in batch[2] and outcome.written == batch


def test_bulk_answer_with_an_id_named_error_is_still_all_written() -> None:
    batch = [{"_id": "error"}, {"_id": "b"}]
    outcome = _bulk_answer(batch, b'[{"id":"error","rev":"1-e"},{"id":"b","rev":"1-b"}]')
    assert outcome.failed == [] and [d["_rev"] for d in batch] == ["1-e", "1-b"]


def test_bulk_error_result_with_a_rev_is_still_a_failure() -> None:
    # CouchDB may send the rev with an error (new_edits=false, a validate_doc_update refusal)
    batch = [{"_id": "a"}, {"_id": "b"}]
    body = b'[{"id":"a","rev":"1-a"},{"id":"b","rev":"1-b","error":"forbidden","reason":"no"}]'
    outcome = _bulk_answer(batch, body)
    assert outcome.written == [batch[0]] and outcome.failed == [(batch[1], "forbidden", "no")]
    assert batch[0]["_rev"] == "1-a" and "_rev" not in batch[1]


def test_bulk_answer_shorter_than_the_batch_writes_only_those_answered() -> None:
    batch = [{"_id": "a"}, {"_id": "b"}]
    outcome = _bulk_answer(batch, b'[{"id":"a","rev":"1-a"}]')
    assert outcome.written == [batch[0]] and "_rev" not in batch[1]
