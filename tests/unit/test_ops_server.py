"""Server operations driven by hand against recorded CouchDB 3.4.3 exchanges."""

from __future__ import annotations

from typing import Any

import pytest

from corduroy import BadRequest, InvalidInput, NotFound, PreconditionFailed, Unauthorized
from corduroy.document import AttrDict
from corduroy.ops import server as ops
from unit.core_recorded import answer, assert_matches, exchange, finish, json_response, replay


def srv(name: str) -> dict[str, Any]:
    return exchange("server", name)


def dbs(name: str) -> dict[str, Any]:
    return exchange("databases", name)


def test_server_info() -> None:
    info = replay(ops.server_info(), srv("root"))
    assert isinstance(info, AttrDict)
    assert info.version == "3.4.3" and info.vendor.name == "The Apache Software Foundation"


def test_server_info_with_a_wrong_password_is_unauthorized() -> None:
    recorded = srv("basic_wrong_password_401")
    op = ops.server_info()
    req = next(op)
    assert_matches(req, recorded)
    with pytest.raises(Unauthorized) as info:
        answer(op, req, recorded)
    assert info.value.reason == "Name or password is incorrect."


def test_all_dbs() -> None:
    assert replay(ops.all_dbs(), srv("all_dbs")) == [
        "_replicator",
        "_users",
        "alpha",
        "bravo",
        "charlie",
        "delta",
    ]


def test_all_dbs_sends_keys_as_json() -> None:
    names = replay(ops.all_dbs(startkey="b", endkey="d"), srv("all_dbs_startkey_endkey"))
    assert names == srv("all_dbs_startkey_endkey")["response"]["body"]


def test_exists() -> None:
    assert replay(ops.db_exists("db1"), dbs("db_head")) is True
    assert replay(ops.db_exists("no_such_db"), dbs("db_head_missing_404")) is False


def test_create() -> None:
    assert replay(ops.create_db("db1"), dbs("db_create_201")) is None


def test_create_existing_raises_precondition_failed() -> None:
    recorded = dbs("db_create_existing_412")
    op = ops.create_db("db1")
    req = next(op)
    assert_matches(req, recorded)
    with pytest.raises(PreconditionFailed) as info:
        answer(op, req, recorded)
    assert info.value.error == "file_exists"


def test_database_name_with_a_slash_is_encoded() -> None:
    replay(ops.create_db("team/data"), dbs("db_create_slash_name"))
    head = {**dbs("db_head"), "request": {"method": "HEAD", "path": "/team%2Fdata", "body": None}}
    assert replay(ops.db_exists("team/data"), head) is True


def test_delete() -> None:
    assert replay(ops.delete_db("dbq"), dbs("db_delete")) is None


def test_delete_missing_raises_not_found() -> None:
    recorded = dbs("db_delete_missing_404")
    op = ops.delete_db("dbq")
    req = next(op)
    with pytest.raises(NotFound):
        answer(op, req, recorded)


# -- db(name, create_if_missing) -----------------------------------------------------


def test_ensure_existing_db_is_one_head() -> None:
    assert replay(ops.ensure_db("db1", create=True), dbs("db_head")) is None


def test_ensure_creates_a_missing_db_with_head_then_put() -> None:
    head_missing = {**dbs("db_head_missing_404")}
    head_missing["request"] = {"method": "HEAD", "path": "/db1", "body": None}
    assert replay(ops.ensure_db("db1", create=True), head_missing, dbs("db_create_201")) is None


def test_ensure_tolerates_a_creation_race() -> None:
    head_missing = {**dbs("db_head_missing_404")}
    head_missing["request"] = {"method": "HEAD", "path": "/db1", "body": None}
    result = replay(ops.ensure_db("db1", create=True), head_missing, dbs("db_create_existing_412"))
    assert result is None


def test_ensure_without_create_raises_not_found_naming_the_db() -> None:
    op = ops.ensure_db("no_such_db", create=False)
    req = next(op)
    assert_matches(req, dbs("db_head_missing_404"))
    with pytest.raises(NotFound, match="no_such_db"):
        answer(op, req, dbs("db_head_missing_404"))


def test_ensure_lets_other_errors_through() -> None:
    op = ops.ensure_db("db1", create=True)
    req = next(op)
    with pytest.raises(Unauthorized):
        op.throw(Unauthorized(401, "unauthorized", "nope"))
    op = ops.ensure_db("db1", create=True)
    next(op)
    put = op.throw(NotFound(404, "not_found", "Database does not exist."))
    assert (put.method, put.path) == ("PUT", "/db1")
    with pytest.raises(Unauthorized):
        op.throw(Unauthorized(401, "unauthorized", "nope"))
    assert req.method == "HEAD"


# -- uuids ---------------------------------------------------------------------------


def test_uuids() -> None:
    ids = replay(ops.uuids(3), srv("uuids_count_3"))
    assert ids == srv("uuids_count_3")["response"]["body"]["uuids"]


@pytest.mark.parametrize("count", [0, -1, 1.5, "3", None, True])
def test_uuids_count_must_be_positive(count: Any) -> None:
    with pytest.raises(InvalidInput, match="count"):
        next(ops.uuids(count))


def test_uuids_over_the_server_limit_is_a_bad_request() -> None:
    recorded = srv("uuids_count_too_large_400")
    op = ops.uuids(1001)
    req = next(op)
    assert_matches(req, recorded)
    with pytest.raises(BadRequest, match="count parameter too large"):
        answer(op, req, recorded)


def test_take_uuids_refills_the_cache_and_hands_out_each_id_once() -> None:
    cache = ops.UuidCache()
    op = ops.take_uuids(cache, 3)
    req = next(op)
    assert req.target == "/_uuids?count=100"
    with pytest.raises(StopIteration) as stop:
        op.send(json_response(200, {"uuids": [f"u{i}" for i in range(100)]}))
    assert stop.value.value == ["u0", "u1", "u2"]
    assert len(cache) == 97
    with pytest.raises(StopIteration) as stop:
        next(ops.take_uuids(cache, 97))  # served from the cache: no request
    assert stop.value.value == [f"u{i}" for i in range(3, 100)]
    assert len(cache) == 0


def test_take_uuids_for_a_big_batch_asks_for_what_is_missing() -> None:
    cache = ops.UuidCache()
    cache.add(["c1", "c2"])
    op = ops.take_uuids(cache, 500)
    req = next(op)
    assert req.target == "/_uuids?count=498"
    with pytest.raises(StopIteration) as stop:
        op.send(json_response(200, {"uuids": [f"u{i}" for i in range(498)]}))
    assert stop.value.value[:3] == ["c1", "c2", "u0"] and len(stop.value.value) == 500


def test_active_tasks() -> None:
    assert replay(ops.active_tasks(), srv("active_tasks_empty")) == []
    op = ops.active_tasks()
    req = next(op)
    running = {"response": {"status": 200, "headers": {}, "body": [{"type": "indexer"}]}}
    tasks = finish(op, req, running)
    assert tasks[0].type == "indexer"
