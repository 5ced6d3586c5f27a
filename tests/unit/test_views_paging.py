"""iterview's paging and iterfind's, driven against a fake server (no network)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from corduroy.document import Document
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops import mango
from corduroy.ops import views as ops
from corduroy.ops.documents import DbRef
from corduroy.ops.io import Emit
from corduroy.views import FindResult

DB = DbRef("db")


class FakeViewServer:
    """Answers view page requests from a sorted list of rows, like CouchDB does,
    or like pouchdb-server, which ignores startkey_docid."""

    def __init__(self, rows: list[dict[str, Any]], honours_docid: bool) -> None:
        self.rows = sorted(rows, key=lambda r: (r["key"], r["id"]))
        self.honours_docid = honours_docid
        self.requests: list[dict[str, Any]] = []

    def answer(self, request: Request) -> Response:
        query = {k: json.loads(v) if k.startswith("start") and "docid" not in k else v
                 for k, v in parse_qsl(request.query)}  # fmt: skip
        self.requests.append(query)
        rows = self.rows
        if request.body is not None:
            keys = json.loads(request.body)["keys"]  # type: ignore[arg-type]
            rows = [r for k in keys for r in self.rows if r["key"] == k]
        if "startkey" in query:
            start = (query["startkey"], "")
            if self.honours_docid and "startkey_docid" in query:
                start = (query["startkey"], query["startkey_docid"])
            rows = [r for r in rows if (r["key"], r["id"]) >= start]
        rows = rows[int(query.get("skip", 0)) :]
        if "limit" in query:
            rows = rows[: int(query["limit"])]
        body = json.dumps({"total_rows": len(self.rows), "offset": 0, "rows": rows}).encode()
        return Response(200, Headers(), body)


def run_pages(server: FakeViewServer, batch: int, **options: Any) -> list[tuple[Any, str]]:
    """Drive the paging operation by hand: answer its requests, collect what it emits."""
    op = ops.view_pages(DB, "d/v", batch, options)
    out: list[tuple[Any, str]] = []
    try:
        instr = next(op)
        while True:
            if isinstance(instr, Emit):
                out.extend((row.key, row.id) for row in instr.items)
                instr = op.send(None)
            else:
                assert isinstance(instr, Request), instr
                instr = op.send(server.answer(instr))
    except StopIteration:
        return out


keys = st.lists(st.integers(0, 4), max_size=40)


@settings(max_examples=150, deadline=None)
@given(
    keys=keys,
    batch=st.integers(1, 7),
    honours=st.booleans(),
    limit=st.none() | st.integers(0, 45),
    skip=st.integers(0, 3),
)
def test_every_row_once_in_order_with_duplicate_keys(
    keys: list[int], batch: int, honours: bool, limit: int | None, skip: int
) -> None:
    rows = [{"id": f"doc{i:03d}", "key": k, "value": None} for i, k in enumerate(keys)]
    server = FakeViewServer(rows, honours)
    expected = [(r["key"], r["id"]) for r in server.rows][skip:]
    if limit is not None:
        expected = expected[:limit]
    assert run_pages(server, batch, limit=limit, skip=skip) == expected
    assert all(int(q["limit"]) <= batch + 1 for q in server.requests)


def test_pages_start_at_the_next_rows_key_and_docid() -> None:
    rows = [{"id": f"d{i}", "key": "same", "value": i} for i in range(5)]
    server = FakeViewServer(rows, honours_docid=True)
    assert len(run_pages(server, 2)) == 5
    assert server.requests[1] == {"startkey": "same", "startkey_docid": "d2", "limit": "3"}


def test_a_server_ignoring_startkey_docid_is_paged_with_skip() -> None:
    rows = [{"id": f"d{i}", "key": "same", "value": i} for i in range(5)]
    server = FakeViewServer(rows, honours_docid=False)
    assert [i for _, i in run_pages(server, 2)] == ["d0", "d1", "d2", "d3", "d4"]
    assert {"startkey": "same", "skip": "4", "limit": "3"} in server.requests


def test_keys_are_sent_batch_at_a_time() -> None:
    rows = [{"id": f"d{i}", "key": i % 3, "value": i} for i in range(9)]
    server = FakeViewServer(rows, honours_docid=True)
    got = run_pages(server, 2, keys=[2, 0, 1])
    assert [k for k, _ in got] == [2, 2, 2, 0, 0, 0, 1, 1, 1]
    assert len(server.requests) == 2


# -- iterfind -------------------------------------------------------------------


def page(n: int, bookmark: str | None) -> FindResult:
    docs = [Document({"_id": f"d{i}"}) for i in range(n)]
    return FindResult(docs, {"bookmark": bookmark} if bookmark else {})


def test_find_pages_follow_the_bookmark() -> None:
    body = mango.find_body({"a": 1}, limit=3, skip=2)
    after = mango.next_find(body, page(3, "g1"), 3)
    assert after == {"selector": {"a": 1}, "limit": 3, "bookmark": "g1"}
    assert mango.next_find(after, page(3, "g1"), 3) is None  # same bookmark: the end
    assert mango.next_find(body, page(2, "g2"), 3) is None  # a short page is the last


def test_find_pages_without_bookmarks_use_skip() -> None:
    body = mango.find_body({"a": 1}, limit=3, skip=2)
    assert mango.next_find(body, page(3, None), 3) == {"selector": {"a": 1}, "limit": 3, "skip": 5}
    assert mango.next_find(body, page(0, None), 3) is None


@pytest.mark.parametrize("batch", [0, -1])
def test_batch_must_be_positive(batch: int) -> None:
    from corduroy import Database

    db = Database("http://127.0.0.1:9/x")
    with pytest.raises(ValueError):
        db.iterview("d/v", batch=batch)
    with pytest.raises(ValueError):
        db.iterfind({}, batch=batch)


def test_find_pages_by_hand_emit_each_page_and_stop_at_the_limit() -> None:
    op = mango.find_pages(DB, 2, mango.find_body({"a": 1}, limit=3))
    first = next(op)
    assert isinstance(first, Request) and json.loads(first.body)["limit"] == 2  # type: ignore[arg-type]
    answer = {"docs": [{"_id": "a"}, {"_id": "b"}], "bookmark": "g1"}
    emitted = op.send(Response(200, Headers(), json.dumps(answer).encode()))
    assert isinstance(emitted, Emit) and [d["_id"] for d in emitted.items] == ["a", "b"]
    second = op.send(None)
    assert isinstance(second, Request)
    assert json.loads(second.body) == {"selector": {"a": 1}, "limit": 1, "bookmark": "g1"}  # type: ignore[arg-type]
    answer = {"docs": [{"_id": "c"}], "bookmark": "g2"}
    emitted = op.send(Response(200, Headers(), json.dumps(answer).encode()))
    assert isinstance(emitted, Emit) and [d["_id"] for d in emitted.items] == ["c"]
    with pytest.raises(StopIteration):
        op.send(None)
