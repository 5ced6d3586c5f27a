"""The Standard Recipe as pure operations, driven by hand against a scripted server."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from corduroy import Conflict, ConflictResolution, Document, InvalidInput
from corduroy.errors import HTTPError, error_class_for
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops import conflicts as ops
from corduroy.ops import revisions as rev_ops
from corduroy.ops.base import Op
from corduroy.ops.documents import DbRef, SaveResult

Server = Callable[[Request], Any]


def reply(status: int, body: Any) -> Response:
    return Response(
        status, Headers({"Content-Type": "application/json"}), json.dumps(body).encode()
    )


def drive(op: Op[Any], server: Server) -> tuple[Any, list[Request]]:
    """Run ``op`` against ``server(request) -> (status, body)``; return (result, requests)."""
    seen: list[Request] = []
    try:
        request = next(op)
        while True:
            seen.append(request)
            status, body = server(request)
            if status >= 400:
                error = error_class_for(status)(status, body.get("error"), body.get("reason"))
                request = op.throw(error)
            else:
                request = op.send(reply(status, body))
    except StopIteration as stop:
        return stop.value, seen


def body(request: Request) -> Any:
    assert isinstance(request.body, bytes)
    return json.loads(request.body)


class FakeDb:
    """A tiny in-memory CouchDB: ``_bulk_docs``, ``_all_docs`` with keys, GET and PUT."""

    def __init__(self, **docs: dict[str, Any]) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        for docid, doc in docs.items():
            self.docs[docid] = {"_id": docid, "_rev": "1-a", **doc}
        self.interfere: Callable[[], None] = lambda: None  # runs before each write

    def bump(self, docid: str, **changes: Any) -> None:
        doc = self.docs[docid]
        n = int(doc["_rev"].split("-")[0]) + 1
        self.docs[docid] = {**doc, **changes, "_rev": f"{n}-x"}

    def _write(self, doc: dict[str, Any]) -> dict[str, Any]:
        docid = doc["_id"]
        current = self.docs.get(docid)
        live = current is not None and not current.get("_deleted")
        if (current["_rev"] if live and current else None) != doc.get("_rev"):
            if not (current and current.get("_deleted") and doc.get("_rev") is None):
                return {"id": docid, "error": "conflict", "reason": "Document update conflict."}
        n = int(current["_rev"].split("-")[0]) + 1 if current else 1
        rev = f"{n}-w"
        self.docs[docid] = {**doc, "_rev": rev}
        return {"ok": True, "id": docid, "rev": rev}

    def __call__(self, request: Request) -> tuple[int, Any]:
        path = request.path.split("/", 2)[2]
        if request.method == "POST" and path == "_all_docs":
            rows = []
            for key in body(request)["keys"]:
                doc = self.docs.get(key)
                if doc is None:
                    rows.append({"key": key, "error": "not_found"})
                elif doc.get("_deleted"):
                    rows.append({"id": key, "key": key, "value": {"deleted": True}, "doc": None})
                else:
                    rows.append({"id": key, "key": key, "doc": doc})
            return 200, {"rows": rows}
        if request.method == "POST" and path == "_bulk_docs":
            self.interfere()
            return 201, [self._write(doc) for doc in body(request)["docs"]]
        if request.method == "GET":
            doc = self.docs.get(path)
            if doc is None or doc.get("_deleted"):
                return 404, {"error": "not_found", "reason": "missing"}
            return 200, doc
        if request.method == "PUT":
            self.interfere()
            result = self._write({**body(request), "_id": path})
            return (409, result) if "error" in result else (201, result)
        raise AssertionError(f"unexpected {request.method} {request.target}")


@pytest.fixture
def ref() -> DbRef:
    return DbRef("db")


def add_one(local: Document, server: Document | None) -> Document:
    assert server is not None
    server["n"] += 1
    return server


# -- ConflictResolution's repr ---------------------------------------------------------


def outcome(written: list[str], failed: list[tuple[str, str]]) -> ConflictResolution:
    result = SaveResult(
        written=[{"_id": i, "_rev": "1-a"} for i in written],
        failed=[({"_id": i}, error, "why") for i, error in failed],
    )
    return ConflictResolution().record(result)


def test_repr_reads_like_the_guide() -> None:
    assert repr(outcome(["first", "second"], [])) == "<Success: 2 docs updated>"
    assert repr(outcome(["one"], [])) == "<Success: 1 doc updated>"
    assert repr(outcome(["first"], [("second", "conflict")])) == "<Conflict: second>"


def test_repr_names_other_errors_and_shortens_long_lists() -> None:
    mixed = outcome([], [("a", "forbidden"), ("b", "conflict")])
    assert repr(mixed) == "<Error: a (forbidden), b (conflict)>"
    many = outcome([], [(f"d{i}", "conflict") for i in range(8)])
    assert repr(many) == "<Conflict: d0, d1, d2, d3, d4, ... (3 more)>"


def test_a_later_success_moves_a_doc_from_pending_to_resolved() -> None:
    result = outcome([], [("a", "conflict")])
    result.record(SaveResult(written=[{"_id": "a", "_rev": "2-b"}]))
    assert (list(result.pending), list(result.resolved)) == ([], ["a"])
    assert result.ok


def test_resolve_needs_a_database_and_a_function() -> None:
    with pytest.raises(InvalidInput):
        outcome([], [("a", "conflict")]).resolve(add_one)


# -- many documents ------------------------------------------------------------------


def test_save_docs_merges_conflicts_in_one_fetch_and_one_write(ref: DbRef) -> None:
    server = FakeDb(a={"n": 10}, b={"n": 20}, c={"n": 30})
    mine = [{"_id": i, "_rev": "0-stale", "n": 0} for i in "abc"]
    result, requests = drive(ops.save_docs(ref, mine, add_one), server)
    assert [(r.method, r.path) for r in requests] == [
        ("POST", "/db/_bulk_docs"),
        ("POST", "/db/_all_docs"),
        ("POST", "/db/_bulk_docs"),
    ]
    assert body(requests[1])["keys"] == ["a", "b", "c"]
    assert [server.docs[i]["n"] for i in "abc"] == [11, 21, 31]
    # the caller's dicts now hold exactly what was written, new _rev included
    assert mine == [server.docs[i] for i in "abc"]
    assert [d is m for d, m in zip(result.written, mine, strict=True)] == [True] * 3


def test_merge_sees_documents_and_cannot_harm_the_callers_dict(ref: DbRef) -> None:
    server = FakeDb(a={"n": 1})
    seen: list[tuple[Any, Any]] = []

    def merge(local: Document, remote: Document | None) -> None:
        seen.append((local, remote))
        local.n = 99  # attribute style, as in the guide
        local["_rev"] = "junk"
        return None  # decline

    mine = {"_id": "a", "_rev": "0-stale", "n": 5}
    result, requests = drive(ops.resolve_docs(ref, {"a": mine}, merge), server)
    ((local, remote),) = seen
    assert isinstance(local, Document) and isinstance(remote, Document)
    assert remote["n"] == 1
    assert mine == {"_id": "a", "_rev": "0-stale", "n": 5}
    assert len(requests) == 1  # fetched, nothing written
    assert result.failed == [(mine, "conflict", "Document update conflict")]


def test_docs_that_conflict_again_are_retried_up_to_the_bound(ref: DbRef) -> None:
    server = FakeDb(a={"n": 1}, b={"n": 1})
    server.interfere = lambda: server.bump("a")  # someone always writes "a" first
    mine = {i: {"_id": i, "n": 0} for i in "ab"}
    result, requests = drive(ops.resolve_docs(ref, mine, add_one, rounds=3), server)
    assert len(requests) == 6
    assert [body(r)["keys"] for r in requests[0::2]] == [["a", "b"], ["a"], ["a"]]
    assert [d["_id"] for d in result.written] == ["b"]
    ((doc, error, _),) = result.failed
    assert (doc, error) == (mine["a"], "conflict")
    assert mine["a"] == {"_id": "a", "n": 0}  # untouched: nothing of it was written


def test_a_deleted_or_missing_server_copy_arrives_as_none_and_is_recreated(ref: DbRef) -> None:
    server = FakeDb(gone={"n": 1})
    server.docs["gone"]["_deleted"] = True
    seen: list[Any] = []

    def merge(local: Document, remote: Document | None) -> Document:
        seen.append(remote)
        return local

    mine = {"gone": {"_id": "gone", "_rev": "1-a", "n": 7}, "never": {"_id": "never", "n": 8}}
    result, requests = drive(ops.resolve_docs(ref, mine, merge), server)
    assert seen == [None, None]
    assert all("_rev" not in d for d in body(requests[1])["docs"])
    assert server.docs["gone"]["n"] == 7 and server.docs["never"]["n"] == 8
    assert len(result.written) == 2 and not result.failed


def test_refusals_other_than_conflicts_are_not_retried(ref: DbRef) -> None:
    def server(request: Request) -> tuple[int, Any]:
        if request.path.endswith("_all_docs"):
            return 200, {
                "rows": [{"id": "a", "key": "a", "doc": {"_id": "a", "_rev": "1-a", "n": 1}}]
            }
        return 201, [{"id": "a", "error": "forbidden", "reason": "no"}]

    result, requests = drive(ops.resolve_docs(ref, {"a": {"_id": "a"}}, add_one), server)
    assert len(requests) == 2
    assert [(e, r) for _, e, r in result.failed] == [("forbidden", "no")]


def test_a_merge_must_keep_the_id_and_return_a_dict(ref: DbRef) -> None:
    server = FakeDb(a={"n": 1})
    with pytest.raises(InvalidInput, match="changed the _id"):
        drive(ops.resolve_docs(ref, {"a": {"_id": "a"}}, lambda mine, theirs: {"_id": "b"}), server)
    with pytest.raises(InvalidInput, match="must return a dict"):
        drive(ops.resolve_docs(ref, {"a": {"_id": "a"}}, lambda mine, theirs: 3), server)  # type: ignore


def test_force_takes_the_servers_rev_and_keeps_the_local_content(ref: DbRef) -> None:
    server = FakeDb(a={"n": 1, "x": "server"})
    mine = [{"_id": "a", "n": 2}]
    result, _ = drive(ops.save_docs(ref, mine, ops.take_server_rev), server)
    assert server.docs["a"] == {"_id": "a", "n": 2, "_rev": "2-w"}
    assert mine[0]["_rev"] == "2-w" and len(result.written) == 1


def test_batch_ok_is_for_one_document(ref: DbRef) -> None:
    with pytest.raises(InvalidInput, match="one document"):
        next(ops.save_docs(ref, [{"_id": "a"}], batch="ok"))


# -- one document ----------------------------------------------------------------------


def test_one_doc_without_merge_raises_conflict(ref: DbRef) -> None:
    server = FakeDb(a={"n": 1})
    with pytest.raises(Conflict):
        drive(ops.save_doc(ref, {"_id": "a", "n": 2}), server)


def test_one_doc_with_merge_fetches_merges_and_puts(ref: DbRef) -> None:
    server = FakeDb(a={"n": 1})
    mine = {"_id": "a", "n": 1}
    result, requests = drive(ops.save_doc(ref, mine, add_one), server)
    assert [r.method for r in requests] == ["PUT", "GET", "PUT"]
    assert server.docs["a"]["n"] == 2 and mine == server.docs["a"]
    assert result.written == [mine]


def test_one_doc_still_conflicting_raises_after_the_bound(ref: DbRef) -> None:
    server = FakeDb(a={"n": 1})
    server.interfere = lambda: server.bump("a")
    with pytest.raises(Conflict, match="after 2 merge rounds") as info:
        drive(ops.save_doc(ref, {"_id": "a"}, add_one, rounds=2), server)
    assert isinstance(info.value, HTTPError) and info.value.status == 409


def test_one_doc_whose_merge_declines_raises_conflict(ref: DbRef) -> None:
    server = FakeDb(a={"n": 1})
    with pytest.raises(Conflict):
        drive(ops.save_doc(ref, {"_id": "a"}, lambda mine, theirs: None), server)
    assert server.docs["a"]["_rev"] == "1-a"


# -- leaf conflicts --------------------------------------------------------------------


def test_resolve_leaves_keeps_a_deleted_leafs_content_when_the_winner_write_conflicts(
    ref: DbRef,
) -> None:
    leaves = [
        [{"ok": {"_id": "d", "_rev": "2-b", "tags": ["b"]}},
         {"ok": {"_id": "d", "_rev": "2-c", "tags": ["c"]}}],
        [{"ok": {"_id": "d", "_rev": "3-x", "tags": ["c", "x"]}},  # someone moved the winner
         {"ok": {"_id": "d", "_rev": "3-b", "_deleted": True}}],  # our deletion of 2-b stuck
    ]  # fmt: skip
    writes: list[Any] = []

    def server(request: Request) -> tuple[int, Any]:
        if request.method == "GET":
            assert request.query == "open_revs=all"
            return 200, leaves[len(writes)]
        writes.append(body(request)["docs"])
        if len(writes) == 1:
            return 201, [
                {"id": "d", "error": "conflict", "reason": "Document update conflict."},
                {"ok": True, "id": "d", "rev": "3-b"},
            ]
        return 201, [{"ok": True, "id": "d", "rev": "4-m"}]

    def union(acc: Document, leaf: Document | None) -> Document:
        assert leaf is not None
        acc.tags = sorted(set(acc.tags) | set(leaf.tags))
        return acc

    result, _ = drive(rev_ops.resolve_leaves(ref, ["d"], union), server)
    assert writes[0] == [
        {"_id": "d", "_rev": "2-c", "tags": ["b", "c"]},
        {"_id": "d", "_rev": "2-b", "_deleted": True},
    ]
    assert writes[1] == [{"_id": "d", "_rev": "3-x", "tags": ["b", "c", "x"]}]
    assert [(d["_rev"], d["tags"]) for d in result.written] == [("4-m", ["b", "c", "x"])]
    assert result.failed == []


def test_resolve_leaves_leaves_a_declined_doc_pending(ref: DbRef) -> None:
    leaves = [{"ok": {"_id": "d", "_rev": "2-b"}}, {"ok": {"_id": "d", "_rev": "2-c"}}]
    result, requests = drive(
        rev_ops.resolve_leaves(ref, ["d"], lambda acc, leaf: None), lambda r: (200, leaves)
    )
    assert len(requests) == 1 and result.written == []
    assert [(d["_rev"], e) for d, e, _ in result.failed] == [("2-c", "conflict")]
