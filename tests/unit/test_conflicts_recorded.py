"""Conflict operations fed recorded CouchDB 3.4.3 exchanges (fixtures: couchdb3/conflicts.jsonl).

These cover what pouchdb-server cannot show: ``_purge``, the 417 for
``all_or_nothing``, ``batch=ok``'s 202 without a rev, and COPY's ``id``/``rev``.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import pytest

from corduroy import BadRequest, Conflict, ExpectationFailed, InvalidInput
from corduroy.errors import HTTPError
from corduroy.ops import conflicts as ops
from corduroy.ops import revisions as rev_ops
from corduroy.ops.documents import DbRef
from unit.core_recorded import FIXTURES, answer, assert_matches, body_json, finish, json_response

Exchange = dict[str, Any]


@cache
def _recorded() -> dict[str, Exchange]:
    with open(FIXTURES / "conflicts.jsonl", encoding="utf-8") as lines:
        return {ex["name"]: ex for ex in map(json.loads, lines) if ex}


def rec(name: str) -> Exchange:
    return _recorded()[name]


def replay(op: Any, *names: str) -> Any:
    request = next(op)
    for i, name in enumerate(names):
        assert_matches(request, rec(name))
        if i == len(names) - 1:
            return finish(op, request, rec(name))
        request = answer(op, request, rec(name))
    raise AssertionError


# -- batch options -----------------------------------------------------------------


def test_bulk_conflict_is_reported_per_document() -> None:
    docs = [{"_id": "bd1", "v": 3}, {"_id": "bd2", "v": 1}]
    result = replay(ops.save_docs(DbRef("db1"), docs), "bulk_docs_conflict")
    assert [d["_id"] for d in result.written] == ["bd2"]
    assert docs[1]["_rev"].startswith("1-") and "_rev" not in docs[0]
    assert result.failed == [(docs[0], "conflict", "Document update conflict.")]


def test_all_or_nothing_on_couchdb_3_is_a_clear_expectation_failed() -> None:
    docs = [{"_id": "bd1", "v": "stale"}, {"_id": "bd4", "v": 1}]
    with pytest.raises(ExpectationFailed, match="nothing was written") as info:
        replay(
            ops.save_docs(DbRef("db1"), docs, all_or_nothing=True), "bulk_docs_all_or_nothing_417"
        )
    assert info.value.status == 417 and info.value.error == "not_implemented"
    assert all("_rev" not in d for d in docs)


def test_new_edits_false_reports_every_doc_written() -> None:
    docs = [{"_id": "bd1", "_rev": "1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "v": "branch"}]
    result = replay(ops.save_docs(DbRef("db1"), docs, new_edits=False), "bulk_docs_new_edits_false")
    assert result.written == docs and docs[0]["_rev"] == "1-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"


def test_batch_ok_202_without_rev_is_accepted_and_keeps_the_dict_as_it_was() -> None:
    doc = {"_id": "batched", "x": 1}
    op = ops.save_doc(DbRef("docs"), doc, batch="ok")
    result = replay(op, "doc_put_batch_ok_202")
    assert result.written == [doc] and "_rev" not in doc


def test_batch_ok_201_with_rev_sets_it() -> None:
    doc = {"_id": "batched", "x": 1}
    op = ops.save_doc(DbRef("docs"), doc, batch="ok")
    request = next(op)
    assert request.query == "batch=ok"
    with pytest.raises(StopIteration):
        op.send(json_response(201, {"ok": True, "id": "batched", "rev": "1-abc"}))
    assert doc["_rev"] == "1-abc"


# -- leaves --------------------------------------------------------------------------


def test_conflicts_lists_the_losing_leaves() -> None:
    revs = replay(rev_ops.conflicts(DbRef("docs"), "conf"), "doc_get_conflicts")
    assert revs == ["1-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]


def test_resolve_leaves_folds_from_couchdbs_winner_and_prunes_the_losers() -> None:
    folds: list[tuple[str, str]] = []

    def merge(acc: Any, leaf: Any) -> Any:
        folds.append((acc["v"], leaf["v"]))
        acc["v"] = "".join(sorted(acc["v"] + leaf["v"]))
        acc["_rev"] = leaf["_rev"]  # a guide-style merge: must not move the write off the winner
        return acc

    op = rev_ops.resolve_leaves(DbRef("docs"), ["conf"], merge)
    request = next(op)
    assert_matches(request, rec("doc_get_conflicted_open_revs_all"))
    write = answer(op, request, rec("doc_get_conflicted_open_revs_all"))
    assert folds == [("c", "b")]  # 1-ccc wins over 1-bbb; the deleted leaf is ignored
    assert (write.method, write.path) == ("POST", "/docs/_bulk_docs")
    assert body_json(write)["docs"] == [
        {"_id": "conf", "_rev": "1-cccccccccccccccccccccccccccccccc", "v": "bc"},
        {"_id": "conf", "_rev": "1-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "_deleted": True},
    ]
    with pytest.raises(StopIteration) as stop:
        op.send(
            json_response(
                201,
                [
                    {"ok": True, "id": "conf", "rev": "2-new"},
                    {"ok": True, "id": "conf", "rev": "2-gone"},
                ],
            )
        )
    result = stop.value.value
    assert [(d["_id"], d["_rev"], d["v"]) for d in result.written] == [("conf", "2-new", "bc")]
    assert result.failed == []


def test_resolve_leaves_of_many_docs_uses_all_docs_then_bulk_get() -> None:
    op = rev_ops.resolve_leaves(DbRef("db1"), ["doc1", "nope"], lambda a, b: a)
    request = next(op)
    assert (request.method, request.target) == (
        "POST",
        "/db1/_all_docs?include_docs=true&conflicts=true",
    )
    doc1 = {"_id": "doc1", "_rev": "1-0199d9ad8fa5a18a8545011bf370f020", "n": 1}
    rows = {"rows": [{"id": "doc1", "key": "doc1", "doc": doc1}, {"key": "nope", "error": "x"}]}
    with pytest.raises(StopIteration) as stop:  # no conflicts anywhere: nothing more to do
        op.send(json_response(200, rows))
    assert stop.value.value.written == [] and stop.value.value.failed == []


# -- copy, revisions, purge ----------------------------------------------------------


def test_copy_to_a_new_id() -> None:
    answer_ = replay(rev_ops.copy_doc(DbRef("docs"), "doc1", "doc1-copy"), "doc_copy_new")
    assert (answer_.id, answer_.rev) == ("doc1-copy", "1-669c2f62ff5df79e9c9d8e21f5ca55bc")


def test_copy_sends_the_destination_header() -> None:
    op = rev_ops.copy_doc(DbRef("docs"), {"_id": "doc1"}, "doc1-copy")
    assert next(op).header("Destination") == "doc1-copy"


def test_copy_onto_an_existing_doc_without_rev_is_a_conflict() -> None:
    with pytest.raises(Conflict):
        replay(rev_ops.copy_doc(DbRef("docs"), "doc1", "doc1-copy"), "doc_copy_existing_409")


def test_copy_over_a_given_revision_updates_the_dest_dict() -> None:
    dest = {"_id": "doc1-copy", "_rev": "1-669c2f62ff5df79e9c9d8e21f5ca55bc"}
    result = replay(rev_ops.copy_doc(DbRef("docs"), "doc1", dest), "doc_copy_overwrite_rev")
    assert result.rev == dest["_rev"] == "2-eb1ee761bb6e08e7f30bb66f32658bbe"


def test_copy_an_older_revision() -> None:
    op = rev_ops.copy_doc(
        DbRef("docs"), "doc1", "doc1-old", rev="1-2ca0ce4371704a9999c426c85b5ee781"
    )
    assert replay(op, "doc_copy_from_rev").id == "doc1-old"


def test_copy_without_id_and_rev_in_the_answer_fetches_the_rev() -> None:
    op = rev_ops.copy_doc(DbRef("docs"), "a", "b")
    next(op)
    head = op.send(json_response(201, {"ok": True}))  # pouchdb-server's answer
    assert (head.method, head.path) == ("HEAD", "/docs/b")
    with pytest.raises(StopIteration) as stop:
        op.send(json_response(200, {}, (("ETag", '"1-abc"'),)))
    assert (stop.value.value.id, stop.value.value.rev) == ("b", "1-abc")


def test_copy_refuses_a_destination_with_a_question_mark() -> None:
    with pytest.raises(InvalidInput):
        next(rev_ops.copy_doc(DbRef("docs"), "a", "b?c"))


def test_revisions_lists_rev_and_status_newest_first() -> None:
    revs = replay(rev_ops.revisions(DbRef("docs"), "doc1"), "doc_get_revs_info")
    assert [(r.rev[:2], r.status) for r in revs] == [("2-", "available"), ("1-", "available")]


@pytest.mark.parametrize(
    "docs",
    [
        {
            "purgeme": ["1-0785e9eb543380151003dc452c3a001a"],
            "nope": "1-dddddddddddddddddddddddddddddddd",
        },
        [
            {"_id": "purgeme", "_rev": "1-0785e9eb543380151003dc452c3a001a"},
            {"_id": "nope", "_rev": "1-dddddddddddddddddddddddddddddddd"},
        ],
    ],
)
def test_purge_on_couchdb_3(docs: Any) -> None:
    result = replay(rev_ops.purge(DbRef("db1"), docs), "purge")
    assert result.purged == {"purgeme": ["1-0785e9eb543380151003dc452c3a001a"], "nope": []}


def test_purge_refused_by_a_server_without_it_says_so() -> None:
    op = rev_ops.purge(DbRef("db1"), {"_id": "a", "_rev": "1-a"})
    request = next(op)
    assert body_json(request) == {"a": ["1-a"]}
    error = BadRequest(400, "bad_request", "only_multipart_accepted")  # pouchdb-server
    with pytest.raises(BadRequest, match="does not support _purge"):
        op.throw(error)


def test_purge_bad_body_is_refused_before_sending() -> None:
    with pytest.raises(InvalidInput):
        next(rev_ops.purge(DbRef("db1"), [{"_id": "x"}]))
    assert issubclass(BadRequest, HTTPError)
