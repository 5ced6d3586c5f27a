"""Writes with client-chosen ids sent again after a dropped connection (no network).

The operations are driven by hand with recorded CouchDB 3.4.3 answers where the
recordings have them (a 409, a per-row conflict, the 202 of a write during a node
outage) and made-up ones for the rest.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from core_recorded import body_json, error_of, json_response, recorded, response_of

from corduroy import Conflict, ConnectionDropped
from corduroy.ops.documents import DbRef, bulk_docs, put_doc
from corduroy.ops.resend import RESENDS, same_write

DB = DbRef("cdb")


def dropped(may_resend: bool = True) -> ConnectionDropped:
    error = ConnectionDropped("the server closed the connection", method="PUT", url="http://n1/")
    error.may_resend = may_resend
    return error


def conflict_409() -> Conflict:
    exchange = recorded("core_documents")["doc_put_stale_rev_409"]
    error = error_of(exchange_request(exchange), exchange)
    assert isinstance(error, Conflict)
    return error


def exchange_request(exchange: dict[str, Any]) -> Any:
    from corduroy.http.messages import Request

    return Request(exchange["request"]["method"], exchange["request"]["path"])


def result_of(op: Any, request: Any, answer: Any) -> Any:
    try:
        op.send(answer)
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the operation sent another request")


def test_a_put_whose_first_attempt_landed_succeeds_with_the_stored_rev() -> None:
    doc = {"_id": "wdoc2", "phase": "node3_down", "w": 3}
    op = put_doc(DB, doc)
    first = next(op)
    assert (first.method, first.path) == ("PUT", "/cdb/wdoc2")
    again = op.throw(dropped())  # the node died after the request left
    assert again == first  # the same request, sent again (to the next node)
    check = op.throw(conflict_409())  # the first attempt had written it
    assert (check.method, check.path) == ("GET", "/cdb/wdoc2")
    stored = recorded("cluster")["doc_get_r3_written_during_outage"]
    result = result_of(op, check, response_of(stored))
    assert result.ok and result.rev == stored["response"]["body"]["_rev"]
    assert doc["_rev"] == result.rev


def test_a_resend_that_conflicts_with_someone_elses_write_raises_the_conflict() -> None:
    op = put_doc(DB, {"_id": "wdoc2", "phase": "mine"})
    next(op)
    op.throw(dropped())
    check = op.throw(conflict_409())
    stored = recorded("cluster")["doc_get_r3_written_during_outage"]  # phase: node3_down
    with pytest.raises(Conflict):
        op.send(response_of(stored))
    assert check.method == "GET"


def test_a_put_is_sent_at_most_twice_more_and_never_with_retries_off() -> None:
    op = put_doc(DB, {"_id": "a"})
    next(op)
    for _ in range(RESENDS):
        assert op.throw(dropped()).method == "PUT"
    with pytest.raises(ConnectionDropped):
        op.throw(dropped())
    op = put_doc(DB, {"_id": "a"})
    next(op)
    with pytest.raises(ConnectionDropped):
        op.throw(dropped(may_resend=False))


def test_a_conflict_without_a_resend_is_not_second_guessed() -> None:
    op = put_doc(DB, {"_id": "a", "_rev": "1-x"})
    next(op)
    with pytest.raises(Conflict):
        op.throw(conflict_409())


def test_a_write_answered_202_accepted_is_a_success() -> None:
    # w=3 with one of three nodes down: CouchDB stores the doc and answers 202
    exchange = recorded("cluster")["doc_put_w3_node3_down"]
    doc = dict(exchange["request"]["body"], _id="wdoc2")
    op = put_doc(DB, doc, w=3)
    request = next(op)
    assert request.target == "/cdb/wdoc2?w=3"
    result = result_of(op, request, response_of(exchange))
    assert result.ok and doc["_rev"] == exchange["response"]["body"]["rev"]


def test_a_bulk_write_answered_202_with_accepted_rows_is_a_success() -> None:
    exchange = recorded("cluster")["bulk_docs_w3_node3_down"]
    sent = exchange["request"]["body"]
    docs = [dict(d) for d in sent["docs"]]
    op = bulk_docs(DB, docs)
    request = next(op)
    outcome = result_of(op, request, response_of(exchange))
    assert not outcome.failed and len(outcome.written) == len(docs)
    assert [d["_rev"] for d in docs] == [r["rev"] for r in exchange["response"]["body"]]


def test_resent_bulk_rows_that_landed_the_first_time_count_as_written() -> None:
    recorded_conflict = recorded("core_databases")["bulk_docs_conflict"]
    docs = [{"_id": "bd1", "v": 3}, {"_id": "bd2", "v": 1}, {"_id": "bd3", "v": 9}]
    op = bulk_docs(DB, docs)
    first = next(op)
    again = op.throw(dropped())
    assert again == first
    answer = response_of(recorded_conflict)  # bd1 conflicts, bd2 written
    rows = [*json.loads(answer.body), {"id": "bd3", "error": "conflict", "reason": "x"}]
    check = op.send(json_response(201, rows))
    assert (check.method, check.path, body_json(check)) == (
        "POST",
        "/cdb/_all_docs",
        {"keys": ["bd1", "bd3"]},
    )
    stored = {
        "rows": [
            {"id": "bd1", "doc": {"_id": "bd1", "_rev": "1-aaa", "v": 3}},  # what was sent
            {"id": "bd3", "doc": {"_id": "bd3", "_rev": "2-bbb", "v": 1}},  # someone else's
        ]
    }
    outcome = result_of(op, check, json_response(200, stored))
    assert [d["_id"] for d in outcome.written] == ["bd1", "bd2"]
    assert docs[0]["_rev"] == "1-aaa"
    assert [(d["_id"], error) for d, error, _ in outcome.failed] == [("bd3", "conflict")]


def test_bulk_conflicts_without_a_resend_are_left_as_they_are() -> None:
    exchange = recorded("core_databases")["bulk_docs_conflict"]
    docs = [dict(d) for d in exchange["request"]["body"]["docs"]]
    op = bulk_docs(DB, docs)
    request = next(op)
    outcome = result_of(op, request, response_of(exchange))
    assert [d["_id"] for d, _, _ in outcome.failed] == ["bd1"]


@pytest.mark.parametrize(
    ("sent", "stored", "same"),
    [
        ({"_id": "a", "x": 1}, {"_id": "a", "_rev": "1-r", "x": 1}, True),
        ({"_id": "a", "x": 1}, {"_id": "a", "_rev": "1-r", "x": 2}, False),
        ({"_id": "a", "x": 1}, {"_id": "a", "_rev": "1-r", "x": 1, "y": 0}, False),
        ({"_id": "a", "_rev": "3-q", "x": 1}, {"_id": "a", "_rev": "4-r", "x": 1}, True),
        ({"_id": "a", "_rev": "3-q", "x": 1}, {"_id": "a", "_rev": "5-r", "x": 1}, False),
        (
            {"_id": "a", "_attachments": {"f": {"data": "aGk=", "content_type": "text/plain"}}},
            {"_id": "a", "_rev": "1-r", "_attachments": {"f": {"stub": True, "length": 2}}},
            True,
        ),
    ],
)
def test_what_counts_as_the_same_write(sent: Any, stored: Any, same: bool) -> None:
    assert same_write(sent, stored) is same


def test_batch_ok_is_a_success_without_a_rev_and_not_readable_at_once() -> None:
    # recorded: 202 {ok, id} with no rev, and a GET right after it is a 404
    put = recorded("misc3")["doc_put_batch_ok_202"]
    doc = {"_id": "batched", **put["request"]["body"]}
    op = put_doc(DbRef("misc"), doc, batch="ok")
    request = next(op)
    assert request.target == "/misc/batched?batch=ok"
    result = result_of(op, request, response_of(put))
    assert result.ok and "_rev" not in doc
    assert recorded("misc3")["doc_get_right_after_batch"]["response"]["status"] == 404


# -- through a Connection to a cluster whose first node dies mid-write ------------------------


class SharedStore:
    """Two fake nodes over one document store, as the nodes of one CouchDB cluster."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}
        self.seen: list[str] = []

    def answer(self, node: str, request: Any) -> Any:
        self.seen.append(f"{node} {request.method} {request.path}")
        docid = request.path.rsplit("/", 1)[-1]
        if request.method == "PUT":
            if docid in self.docs:
                return json_response(
                    409, {"error": "conflict", "reason": "Document update conflict."}
                )
            body = json.loads(request.body)
            self.docs[docid] = {**body, "_rev": "1-abc"}
            return json_response(201, {"ok": True, "id": docid, "rev": "1-abc"})
        if request.method == "GET" and docid in self.docs:
            return json_response(200, self.docs[docid])
        return json_response(404, {"error": "not_found", "reason": "missing"})


class DyingNode:
    def __init__(self, store: SharedStore) -> None:
        self.store = store

    def send(self, request: Any) -> Any:
        self.store.answer("n1", request)  # the write lands...
        raise ConnectionDropped("node 1 died", method=request.method, url="http://node1:5984/")


class LiveNode:
    def __init__(self, store: SharedStore) -> None:
        self.store = store

    def send(self, request: Any) -> Any:
        return self.store.answer("n2", request)


def test_a_save_through_a_cluster_survives_the_death_of_its_node() -> None:
    from corduroy.connection import Connection, ServerUrl
    from corduroy.drivers import run_blocking

    store = SharedStore()
    conn = Connection([ServerUrl("http://node1:5984/"), ServerUrl("http://node2:5984/")])
    assert conn.nodes is not None
    first, second = conn.nodes.nodes
    first.sync = first.probe_sync = DyingNode(store)  # type: ignore[assignment]
    second.sync = second.probe_sync = LiveNode(store)  # type: ignore[assignment]
    doc = {"_id": "order-7", "amount": 70}
    result = run_blocking(put_doc(DB, doc), conn)
    assert result.ok and doc["_rev"] == "1-abc"
    assert store.seen == ["n1 PUT /cdb/order-7", "n2 PUT /cdb/order-7", "n2 GET /cdb/order-7"]
    assert [n["healthy"] for n in conn.nodes.health()] == [False, True]
