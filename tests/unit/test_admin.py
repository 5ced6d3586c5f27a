"""Admin operations driven by recorded CouchDB 3.4.3 exchanges (tests/fixtures/couchdb3/admin.jsonl)
and by pouchdb-server's answers where it differs (1.x ``/_config``, ``_bulk_get``)."""

from __future__ import annotations

import asyncio
import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from corduroy import Conflict, Couch, Document, InvalidInput, NotFound, RequestReplica
from corduroy.drivers import error_for
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops import admin as ops

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "couchdb3"


@cache
def recorded(name: str, area: str = "admin") -> dict[str, Any]:
    with open(FIXTURES / f"{area}.jsonl", encoding="utf-8") as lines:
        for line in lines:
            exchange = json.loads(line)
            if exchange["name"] == name:
                return exchange
    raise KeyError(name)


def response_of(exchange: dict[str, Any]) -> Response:
    resp = exchange["response"]
    pairs = []
    for name, value in resp["headers"].items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    return Response(resp["status"], Headers(pairs), json.dumps(resp["body"]).encode())


class _Conn:
    def url_for(self, request: Request) -> str:
        return "http://127.0.0.1:5984" + request.target


def answer(request: Request, response: Response) -> Any:
    """What the drivers hand the op: the response, or the error to throw."""
    if response.status >= 400:
        return error_for(request, response, _Conn(), response.body)  # type: ignore[arg-type]
    return response


def drive(op: Any, *steps: dict[str, Any] | Response) -> Any:
    """Run ``op`` against recorded exchanges (checked) or plain responses, in order."""
    sent = None
    try:
        request = next(op)
        for step in steps:
            if isinstance(step, dict):
                want = step["request"]
                assert (request.method, request.target) == (want["method"], want["path"])
                if want["body"] is not None and want["body"] != "<redacted>":
                    sent = json.loads(request.body)
                    expected = want["body"]
                    if isinstance(expected, dict) and "password" in expected:
                        expected = {**expected, "password": sent["password"]}
                    assert sent == expected
                if want["headers"].get("Content-Type"):
                    assert request.header("Content-Type") == want["headers"]["Content-Type"]
                response = response_of(step)
            else:
                response = step
            result = answer(request, response)
            request = op.throw(result) if isinstance(result, Exception) else op.send(result)
        raise AssertionError(f"the op sent one more request: {request}")
    except StopIteration as stop:
        return stop.value


def pouch(status: int, body: Any) -> Response:
    return Response(
        status, Headers([("Content-Type", "application/json")]), json.dumps(body).encode()
    )


NO_DB_FILE = pouch(404, {"error": "not_found", "reason": "no_db_file"})


# -- config: CouchDB 3 path, detected once ------------------------------------------------------


def test_config_on_couchdb3_reads_all_sections_and_remembers_the_node_path():
    state = ops.AdminState()
    everything = drive(ops.config(state), recorded("config_all"))
    assert everything.couchdb.js_engine == "quickjs"
    assert state.node_prefix == "/_node/_local"
    section = drive(ops.config(state, "couchdb"), recorded("config_section"))
    assert section["single_node"] == "true"
    assert drive(ops.config(state, "couchdb/js_engine"), recorded("config_key")) == "quickjs"


def test_config_set_and_delete_return_the_previous_value():
    state = ops.AdminState()
    state.node_prefix = "/_node/_local"
    name = "recorder_test/greeting"
    assert drive(ops.config(state, name, "hello"), recorded("config_put_new_key")) == ""
    old = drive(ops.config(state, name, "world"), recorded("config_put_returns_old_value"))
    assert old == "hello"
    gone = drive(ops.config(state, name, delete=True), recorded("config_delete_returns_old_value"))
    assert gone == "world"
    with pytest.raises(NotFound):
        drive(ops.config(state, name, delete=True), recorded("config_delete_missing_404"))


def test_a_missing_key_on_couchdb3_is_not_found_and_still_settles_the_path():
    state = ops.AdminState()
    with pytest.raises(NotFound) as caught:
        drive(ops.config(state, "couchdb/no_such_key"), recorded("config_key_missing_404"))
    assert caught.value.reason == "unknown_config_value"
    assert state.node_prefix == "/_node/_local"


def test_config_on_a_1x_server_falls_back_to_slash_config_once():
    state = ops.AdminState()
    op = ops.config(state, "couchdb/uuid")
    assert next(op).path == "/_node/_local/_config/couchdb/uuid"
    fallback = op.throw(answer(Request("GET", "/_node/_local/_config/couchdb/uuid"), NO_DB_FILE))
    assert fallback.path == "/_config/couchdb/uuid"
    with pytest.raises(StopIteration) as done:
        op.send(pouch(200, "abc"))
    assert done.value.value == "abc"
    assert state.node_prefix == ""
    again = ops.config(state, "couchdb")
    assert next(again).path == "/_config/couchdb"  # no second detection


def test_a_missing_key_on_a_1x_server_is_the_1x_not_found():
    state = ops.AdminState()
    missing = pouch(404, {"error": "not_found", "reason": "unknown_config_value"})
    with pytest.raises(NotFound) as caught:
        drive(ops.config(state, "couchdb/nope"), NO_DB_FILE, missing)
    assert caught.value.reason == "unknown_config_value"
    assert state.node_prefix == ""


def test_config_values_are_sent_as_json_strings():
    state = ops.AdminState()
    state.node_prefix = ""
    for value, sent in ((8, '"8"'), (True, '"true"'), ("x y", '"x y"')):
        op = ops.config(state, ("httpd", "port"), value)
        request = next(op)
        assert (request.method, request.path, request.body) == (
            "PUT",
            "/_config/httpd/port",
            sent.encode(),
        )


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("section",), {"value": "x"}),
        ((None,), {"delete": True}),
        (("a/b/c",), {}),
        (("a/b",), {"value": "x", "delete": True}),
        (("a/b",), {"value": {"not": "a string"}}),
        (("a/",), {}),
    ],
)
def test_config_refuses_bad_names_and_values_before_sending(args, kwargs):
    with pytest.raises(InvalidInput):
        next(ops.config(ops.AdminState(), *args, **kwargs))


# -- stats, up, membership, session, users ---------------------------------------------------------


def test_stats_of_one_metric_and_an_unknown_one():
    state = ops.AdminState()
    stat = drive(ops.stats(state, "couchdb/request_time"), recorded("stats_request_time"))
    assert stat.type == "histogram" and stat.value.n == 65
    assert drive(ops.stats(state, "couchdb/no_such_metric"), recorded("stats_missing_path")) is None


def test_up_on_couchdb3_and_on_a_server_without_up():
    assert drive(ops.up(), recorded("up")) is True
    assert drive(ops.up(), NO_DB_FILE, pouch(200, {"express-pouchdb": "Welcome!"})) is True
    assert drive(ops.up(), pouch(404, {"status": "maintenance_mode"})) is False
    assert drive(ops.up(), pouch(503, {"status": "nolb"})) is False


def test_membership_and_sessions():
    nodes = drive(ops.membership(), recorded("membership"))
    assert nodes.all_nodes == ["couchdb@127.0.0.1"]
    me = drive(ops.session(), recorded("session_get_basic"))
    assert me.userCtx.name == "admin" and me.info.authenticated == "default"
    anonymous = drive(ops.session(), recorded("session_get_anonymous"))
    assert anonymous.userCtx.name is None
    assert drive(ops.logout(), recorded("session_delete")) is None


def test_create_user_writes_a_user_document_and_returns_it_without_the_password():
    user = drive(ops.create_user("bob", "pw"), recorded("users_create_user"))
    assert isinstance(user, Document)
    assert user["_id"] == "org.couchdb.user:bob"
    assert user["_rev"] == "1-d113b23d79ea2af468f5ae833e733206"
    assert "password" not in user
    op = ops.create_user("carol", "pw", ["staff"])
    request = next(op)
    assert request.path == "/_users/org.couchdb.user:carol"
    assert json.loads(request.body)["roles"] == ["staff"]
    with pytest.raises(Conflict):
        op.throw(
            answer(request, pouch(409, {"error": "conflict", "reason": "Document update conflict"}))
        )


@pytest.mark.parametrize(
    "args", [("", "pw"), ("bob", ""), ("bob", "pw", "admins"), ("bob", "pw", [""])]
)
def test_create_user_refuses_bad_input(args):
    with pytest.raises(InvalidInput):
        next(ops.create_user(*args))


# -- database administration -------------------------------------------------------------------


def test_security_read_and_write():
    assert drive(ops.security("db1"), recorded("security_get_empty")).members.roles == ["_admin"]
    value = {
        "admins": {"names": ["superuser"], "roles": ["admins"]},
        "members": {"names": ["user1", "user2"], "roles": ["developers"]},
    }
    assert drive(ops.security("db1", value), recorded("security_put")) == value
    assert drive(ops.security("db1"), recorded("security_get")) == value
    with pytest.raises(InvalidInput):
        next(ops.security("db1", ["not", "a", "dict"]))  # type: ignore[arg-type]


def test_commit_sends_json_content_type():
    assert drive(ops.commit("db1"), recorded("ensure_full_commit")).ok is True


def test_revs_diff_reports_missing_revisions_by_id():
    revs = {
        "doc1": ["1-0199d9ad8fa5a18a8545011bf370f020", "2-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"],
        "nope": ["1-cccccccccccccccccccccccccccccccc"],
    }
    diff = drive(ops.revs_diff("db1", revs), recorded("revs_diff"))
    assert diff["doc1"].missing == ["2-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]
    assert diff["doc1"].possible_ancestors == ["1-0199d9ad8fa5a18a8545011bf370f020"]
    assert diff["nope"].missing == ["1-cccccccccccccccccccccccccccccccc"]


def test_bulk_get_on_couchdb3_found_missing_doc_and_missing_rev():
    wanted = [
        "doc1",
        "nope",
        ("doc2", "9-deadbeef"),
        {"id": "doc1", "rev": "1-0199d9ad8fa5a18a8545011bf370f020"},
    ]
    rows = drive(ops.bulk_get("db1", wanted), recorded("bulk_get"))
    assert [(r.id, r.ok, r.error, r.rev) for r in rows] == [
        ("doc1", True, None, "1-0199d9ad8fa5a18a8545011bf370f020"),
        ("nope", False, "not_found", None),
        ("doc2", False, "not_found", "9-deadbeef"),
        ("doc1", True, None, "1-0199d9ad8fa5a18a8545011bf370f020"),
    ]
    assert isinstance(rows[0].doc, Document) and rows[0].doc.n == 1


def test_bulk_get_on_pouchdb_server_gives_the_same_rows():
    body = {
        "results": [
            {"id": "nope", "docs": [{}]},
            {"id": "doc2", "docs": [{"missing": "9-deadbeef"}]},
            {"id": "doc1", "docs": [{"ok": {"_id": "doc1", "_rev": "1-abc", "n": 1}}]},
        ]
    }
    rows = drive(ops.bulk_get("db1", ["nope", ("doc2", "9-deadbeef"), "doc1"]), pouch(200, body))

    def error(docid: str, rev: str) -> dict[str, Any]:
        return {"id": docid, "rev": rev, "error": "not_found", "reason": "missing"}

    couch3_body = {
        "results": [
            {"id": "nope", "docs": [{"error": error("nope", "undefined")}]},
            {"id": "doc2", "docs": [{"error": error("doc2", "9-deadbeef")}]},
        ]
    }
    couch3 = drive(ops.bulk_get("db1", ["nope", ("doc2", "9-deadbeef")]), pouch(200, couch3_body))
    assert rows[:2] == couch3
    assert rows[2].doc == {"_id": "doc1", "_rev": "1-abc", "n": 1}


def test_bulk_get_revs_and_deleted_docs():
    rows = drive(ops.bulk_get("db1", ["doc1"], revs=True), recorded("bulk_get_revs"))
    assert rows[0].doc["_revisions"]["start"] == 1
    deleted = drive(ops.bulk_get("db1", ["doc6"]), recorded("bulk_get_deleted"))
    assert deleted[0].doc["_deleted"] is True


def test_bulk_get_refuses_what_is_not_an_id():
    with pytest.raises(InvalidInput):
        next(ops.bulk_get("db1", [42]))  # type: ignore[list-item]


# -- secrets stay out of request replicas ----------------------------------------------------------


def test_a_callback_call_that_sends_a_password_returns_a_replica_without_it():
    couch = Couch("http://admin:hunter2@127.0.0.1:9/", connect_timeout=0.5, retry=False)

    async def main() -> list[RequestReplica]:
        done = asyncio.get_running_loop().create_future()
        replicas = [
            couch.create_user("bob", "s3cret-pw", callback=lambda d, s: None),
            couch.config("admins/eve", "s3cret-pw", callback=lambda d, s: done.set_result(1)),
        ]
        await done
        for replica in replicas:
            await replica
        return replicas

    for replica in asyncio.run(main()):
        assert "s3cret-pw" not in repr(replica.body)
        assert "hunter2" not in repr(dict(replica.headers)) + replica.url


def test_up_is_false_when_the_server_cannot_be_reached():
    from corduroy.errors import ConnectError

    op = ops.up()
    next(op)
    with pytest.raises(StopIteration) as done:
        op.throw(ConnectError("connection refused"))
    assert done.value.value is False
