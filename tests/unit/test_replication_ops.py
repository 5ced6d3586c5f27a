"""Replication operations and watching, with recorded CouchDB 3 answers (no network)."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Generator
from typing import Any

import pytest
from core_recorded import error_of, recorded, response_of

from corduroy import Couch
from corduroy.errors import InvalidInput, ServerError, Timeout
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops import replication as ops
from corduroy.ops.io import Now, Sleep
from corduroy.replication import ReplicationFailed, ReplicationStatus, parse_status

COUCHDB_ROOT = Response(200, Headers(), b'{"couchdb":"Welcome","version":"3.4.3"}')
POUCHDB_ROOT = Response(200, Headers(), b'{"express-pouchdb":"Welcome!","version":"4.2.0"}')

SRC = ops.Endpoint("http://127.0.0.1:15984/src", "admin", "s3cr:et")
TGT = ops.Endpoint("http://127.0.0.1:15984/tgt2", "admin", "s3cr:et")


def case(name: str) -> dict[str, Any]:
    return recorded("replication")[name]


def finish(op: Any, response: Response) -> Any:
    with pytest.raises(StopIteration) as stop:
        op.send(response)
    return stop.value.value


def test_endpoint_forms() -> None:
    auth = "Basic " + base64.b64encode(b"admin:s3cr:et").decode()
    assert SRC.encode(couchdb=True) == {"url": SRC.url, "headers": {"Authorization": auth}}
    assert SRC.encode(couchdb=False) == "http://admin:s3cr%3Aet@127.0.0.1:15984/src"
    assert ops.Endpoint("http://h/db").encode(couchdb=True) == "http://h/db"
    parsed = ops.Endpoint.from_url("https://bob:p%40ss@example.com:6984/remote")
    assert parsed == ops.Endpoint("https://example.com:6984/remote", "bob", "p@ss")
    assert "s3cr" not in repr(SRC) and "p@ss" not in repr(parsed)


def test_replicate_on_couchdb_sends_object_endpoints() -> None:
    recorded_case = case("replicate_endpoint_objects")
    op = ops.replicate(ops.ServerTraits(), SRC, TGT, create_target=True)
    probe = next(op)
    assert (probe.method, probe.path) == ("GET", "/")  # first: which server is this?
    request = op.send(COUCHDB_ROOT)
    assert (request.method, request.path) == ("POST", "/_replicate")
    body = json.loads(request.body)  # type: ignore[arg-type]
    want = recorded_case["request"]["body"]
    assert set(body) == set(want)
    assert body["source"]["url"] == want["source"]["url"]
    assert set(body["source"]["headers"]) == {"Authorization"}
    assert "s3cr" not in json.dumps(body["source"]["url"])
    result = finish(op, response_of(recorded_case))
    assert result.ok and result.history[0].docs_written == 7


def test_replicate_on_pouchdb_puts_credentials_in_the_url() -> None:
    op = ops.replicate(ops.ServerTraits(), SRC, TGT, continuous=True)
    next(op)
    request = op.send(POUCHDB_ROOT)
    body = json.loads(request.body)  # type: ignore[arg-type]
    assert body == {
        "source": "http://admin:s3cr%3Aet@127.0.0.1:15984/src",
        "target": "http://admin:s3cr%3Aet@127.0.0.1:15984/tgt2",
        "continuous": True,
    }


def test_continuous_answers_at_once_with_its_id() -> None:
    op = ops.replicate(ops.ServerTraits(), SRC, TGT, continuous=True, create_target=True)
    next(op)
    op.send(COUCHDB_ROOT)
    result = finish(op, response_of(case("replicate_continuous")))
    assert result._local_id.endswith("+continuous+create_target")


def test_cancel_repeats_the_arguments() -> None:
    op = ops.replicate(ops.ServerTraits(), SRC, TGT, continuous=True, cancel=True)
    next(op)
    body = json.loads(op.send(COUCHDB_ROOT).body)
    assert body["cancel"] is True and body["continuous"] is True
    assert finish(op, response_of(case("replicate_cancel"))).ok


def test_errors_never_show_the_password() -> None:
    op = ops.replicate(ops.ServerTraits(), SRC, TGT)
    next(op)
    request = op.send(COUCHDB_ROOT)
    recorded_case = json.loads(json.dumps(case("replicate_missing_source_500")))
    # a server that echoes the url as given would leak the password: scrubbed
    recorded_case["response"]["body"]["reason"] = "could not open http://admin:s3cr%3Aet@h/src"
    with pytest.raises(ServerError) as info:
        op.throw(error_of(request, recorded_case))
    assert info.value.error == "db_not_found"
    assert "s3cr" not in str(info.value) and "s3cr" not in json.dumps(info.value.body)


def test_id_writes_a_replicator_document() -> None:
    op = ops.replicate(ops.ServerTraits(), SRC, TGT, _id="rep_oneshot", create_target=True)
    next(op)
    request = op.send(COUCHDB_ROOT)
    assert (request.method, request.path) == ("PUT", "/_replicator/rep_oneshot")
    body = json.loads(request.body)  # type: ignore[arg-type]
    assert body["_id"] == "rep_oneshot" and body["create_target"] is True
    assert finish(op, response_of(case("replicator_doc_put"))).ok


@pytest.mark.parametrize(
    "options",
    [
        {"bogus": 1},
        {"doc_ids": "a"},
        {"doc_ids": ["a"], "selector": {"x": 1}},
        {"filter": "d/f", "selector": {"x": 1}},
    ],
)
def test_bad_options_are_refused_before_anything_is_sent(options: dict[str, Any]) -> None:
    op = ops.replicate(ops.ServerTraits(), SRC, TGT, **options)
    next(op)
    with pytest.raises(InvalidInput):
        op.send(COUCHDB_ROOT)


def status_of(name: str) -> ReplicationStatus:
    body = case(name)["response"]["body"]
    if "_scheduler" in case(name)["request"]["path"]:
        state, info, error = parse_status(body["doc_id"], body, None)
    else:
        state, info, error = parse_status(body["_id"], None, body)
    return ReplicationStatus("rep", state, info, error=error, raw=body)


def test_scheduler_states() -> None:
    assert status_of("scheduler_doc_first_poll").state == "initializing"
    running = status_of("scheduler_doc_running")
    assert running.state == "running" and not running.done and not running.failed
    done = status_of("scheduler_doc_completed")
    assert done.done and (done.docs_read, done.docs_written, done.doc_write_failures) == (7, 7, 0)
    crashing = status_of("scheduler_doc_crashing")
    assert crashing.failed and "econnrefused" in (crashing.error or "")
    error = status_of("scheduler_doc_error")
    assert error.failed and "_design/nope" in (error.error or "")
    assert repr(done) == "<Replication 'rep': completed, 7 docs written>"


def test_replicator_document_states() -> None:
    assert status_of("replicator_doc_get_initial").state == "initializing"
    completed = status_of("replicator_doc_get_completed")
    assert completed.done and completed.docs_written == 7
    triggered = parse_status("r", None, {"_replication_state": "triggered"})
    assert triggered[0] == "running"  # pouchdb-server / CouchDB 1.x


def test_status_reads_the_scheduler_on_couchdb_and_the_doc_elsewhere() -> None:
    traits = ops.ServerTraits()
    op = ops.replication_status(traits, "rep_oneshot")
    next(op)
    request = op.send(COUCHDB_ROOT)
    assert request.path == "/_scheduler/docs/_replicator/rep_oneshot"
    # unknown to the scheduler: the document decides
    request = op.throw(error_of(request, case("scheduler_doc_missing_404")))
    assert request.path == "/_replicator/rep_oneshot"
    pouch = ops.ServerTraits()
    op = ops.replication_status(pouch, "x")
    next(op)
    assert op.send(POUCHDB_ROOT).path == "/_replicator/x"


class PollingConn:
    """Serves the scheduler states a recorded replication went through, one per poll."""

    def __init__(self, name: str) -> None:
        self.bodies = [item["body"] for item in case(name)["observed"]]
        self.polls = 0
        self.traits = ops.ServerTraits()  # what a Connection learns about its server

    def url_for(self, request: Request) -> str:
        return "http://127.0.0.1:5984" + request.target

    def send(self, request: Request) -> Response:
        if request.path == "/":
            return COUCHDB_ROOT
        self.polls += 1
        body = self.bodies[min(self.polls, len(self.bodies)) - 1]
        return Response(200, Headers(), json.dumps(body).encode())

    async def send_async(self, request: Request) -> Response:
        return self.send(request)


def watched(name: str) -> tuple[ReplicationStatus, PollingConn]:
    couch = Couch("http://127.0.0.1:9/")
    conn = PollingConn(name)
    couch._conn = conn  # type: ignore[assignment]
    return couch.replication("rep"), conn


def test_wait_returns_once_completed() -> None:
    first, conn = watched("scheduler_doc_completed")
    assert first.state == "initializing"
    final = first.wait(poll=0)
    assert final.done and final.docs_written == 7
    assert conn.polls == len(conn.bodies)


def test_wait_raises_when_it_crashes() -> None:
    first, _ = watched("scheduler_doc_crashing")
    with pytest.raises(ReplicationFailed, match="crashing"):
        first.wait(poll=0)


def test_wait_times_out() -> None:
    first, _ = watched("scheduler_doc_running")
    with pytest.raises(Timeout):
        first.wait(timeout=0.01, poll=0.02)


def test_wait_with_a_callback_reports_the_last_answer_in_its_status() -> None:
    first, _ = watched("scheduler_doc_completed")
    got: list[Any] = []

    async def main() -> None:
        replica = first.wait(poll=0, callback=lambda data, status: got.append((data, status)))
        assert replica.method == "GET"  # the first request of the polling
        await replica

    asyncio.run(main())
    [(final, status)] = got
    assert final.done and status.ok and status.code == 200


def test_poll_until_by_hand_sleeps_between_looks_and_times_out() -> None:
    looks: list[int] = []

    def fetch() -> Generator[Request, Response, int]:
        yield Request("GET", "/x")
        looks.append(1)
        return len(looks)

    op = ops.poll_until(fetch, lambda n: n == 3, timeout=None, poll=0.5)
    assert next(op) == Request("GET", "/x")
    assert op.send(Response(200, Headers(), b"{}")) == Sleep(0.5)
    assert op.send(None) == Request("GET", "/x")
    op.send(Response(200, Headers(), b"{}"))
    op.send(None)
    with pytest.raises(StopIteration) as end:
        op.send(Response(200, Headers(), b"{}"))
    assert end.value.value == 3

    timed = ops.poll_until(fetch, lambda n: False, timeout=1.0, poll=0.5)
    next(timed)
    assert isinstance(timed.send(Response(200, Headers(), b"{}")), Now)
    assert timed.send(10.0) == Sleep(0.5)
    timed.send(None)
    assert isinstance(timed.send(Response(200, Headers(), b"{}")), Now)
    with pytest.raises(Timeout):
        timed.send(10.6)
