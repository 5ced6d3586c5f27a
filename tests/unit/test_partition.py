"""Partitioned databases, driven by recorded CouchDB 3.4.3 exchanges
(tests/fixtures/couchdb3/partitions.jsonl): pouchdb-server has no partitions."""

from __future__ import annotations

import io
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from corduroy import BadRequest, Couch, InvalidInput
from corduroy.drivers import Streamed, error_for
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops import partitions as ops
from corduroy.ops import server as server_ops
from corduroy.ops.documents import DbRef
from corduroy.partition import Partition
from corduroy.rowstream import RowStream

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "couchdb3"
PDB = DbRef("pdb")


@cache
def recorded(name: str) -> dict[str, Any]:
    with open(FIXTURES / "partitions.jsonl", encoding="utf-8") as lines:
        for line in lines:
            exchange = json.loads(line)
            if exchange["name"] == name:
                return exchange
    raise KeyError(name)


class _Conn:
    def url_for(self, request: Request) -> str:
        return "http://127.0.0.1:5984" + request.target


def run(op: Any, name: str) -> Any:
    """Send the op's one request the recorded answer; finish a streamed result like the driver."""
    exchange = recorded(name)
    want, got = exchange["request"], exchange["response"]
    request = next(op)
    assert (request.method, request.target) == (want["method"], want["path"])
    if want["body"] is not None:
        assert json.loads(request.body) == want["body"]
    raw = json.dumps(got["body"]).encode()
    headers = Headers([("Content-Type", "application/json")])
    if request.stream:
        response = Response(got["status"], headers, b"", stream=io.BytesIO(raw))
    else:
        response = Response(got["status"], headers, raw)
    try:
        if got["status"] >= 400:
            op.throw(error_for(request, response, _Conn(), raw))  # type: ignore[arg-type]
        else:
            op.send(response)
    except StopIteration as stop:
        result = stop.value
        return result.finish_sync() if isinstance(result, Streamed) else result
    raise AssertionError("the op sent a second request")


def test_create_a_partitioned_database_and_one_with_shards_and_replicas():
    request = next(server_ops.create_db("pdb", partitioned=True))
    assert request.target == recorded("partitioned_db_create")["request"]["path"]
    request = next(server_ops.create_db("dbq", q=1, n=1))
    assert request.target == "/dbq?q=1&n=1"


def test_partition_info():
    info = run(ops.partition_info(PDB, "p1"), "partition_info")
    assert info.partition == "p1" and info.doc_count == 3


def test_partition_all_docs_with_options():
    view = run(ops.partition_all_docs(PDB, "p1"), "partition_all_docs")
    assert [row.id for row in view] == ["p1:a", "p1:b", "p1:c"]
    docs = run(
        ops.partition_all_docs(PDB, "p1", include_docs=True, limit=2),
        "partition_all_docs_include_docs",
    )
    assert [row.doc["name"] for row in docs] == ["a", "b"]


def test_partition_view_map_and_reduce():
    view = run(ops.partition_view(PDB, "p1", "pv/by_n", reduce=False), "partition_view")
    assert [(row.key, row.value) for row in view] == [(1, 1), (2, 2), (3, 3)]
    assert view.total_rows == 3
    total = run(ops.partition_view(PDB, "p1", "_design/pv/_view/by_n"), "partition_view_reduce")
    assert total.rows[0].value == 6


def test_partition_rows_streamed_one_at_a_time():
    # stream=True is the client's choice, not a query option: the request is the recorded one
    streamed = run(ops.partition_all_docs(PDB, "p1", stream=True), "partition_all_docs")
    assert isinstance(streamed, RowStream)
    assert streamed.total_rows == 3
    assert [row.id for row in streamed] == ["p1:a", "p1:b", "p1:c"]
    rows = run(
        ops.partition_view(PDB, "p1", "pv/by_n", reduce=False, stream=True), "partition_view"
    )
    assert isinstance(rows, RowStream)
    assert [(row.key, row.value) for row in rows] == [(1, 1), (2, 2), (3, 3)]


def test_stream_with_a_callback_is_refused_before_any_request():
    part = Couch("http://127.0.0.1:9/")["pdb"].partition("p1")
    for call in (part.all_docs, lambda **kw: part.view("pv/by_n", **kw)):
        with pytest.raises(InvalidInput, match="stream=True"):
            call(stream=True, callback=lambda data, status: None)


def test_a_global_view_queried_in_a_partition_is_a_bad_request():
    with pytest.raises(BadRequest):
        run(ops.partition_view(PDB, "p1", "gv/by_name"), "global_view_via_partition_400")


def test_partition_find_and_explain():
    found = run(
        ops.partition_find(PDB, "p1", {"n": {"$gt": 1}}, fields=["_id", "n"]), "partition_find"
    )
    assert [doc["_id"] for doc in found] == ["p1:b", "p1:c"]
    assert found.bookmark
    plan = run(ops.partition_explain(PDB, "p1", {"n": {"$gt": 1}}), "partition_explain")
    assert plan.opts.partition == "p1"


def test_partition_errors_from_the_server():
    with pytest.raises(BadRequest) as caught:
        run(ops.partition_info(DbRef("plain"), "p1"), "partition_on_non_partitioned_db_400")
    assert caught.value.reason == "database is not partitioned"
    with pytest.raises(BadRequest) as bad:
        run(ops.partition_info(PDB, "_bad"), "partition_bad_name_400")
    assert bad.value.error == "illegal_partition"


@pytest.mark.parametrize("key", ["", "a:b", 7, None])
def test_bad_partition_keys_are_refused_without_a_request(key):
    db = Couch("http://h:5984/")["pdb"]
    with pytest.raises(InvalidInput):
        db.partition(key)


def test_partition_objects():
    db = Couch("http://h:5984/")["pdb"]
    part = db.partition("p 1")
    assert part == Partition(db, "p 1") and part != db.partition("p2")
    assert repr(part) == "<Partition 'pdb'/'p 1'>"
    assert next(ops.partition_all_docs(PDB, "p 1")).path == "/pdb/_partition/p%201/_all_docs"
