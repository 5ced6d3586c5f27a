"""``db.query(map_src)`` (corduroy.ops.query): temporary views or a hashed design document.

CouchDB 3.4.3's answers are recorded (misc3.jsonl: the 410 of ``_temp_view``, the
400 for a built-in reduce with leading whitespace; views.jsonl: a view's rows);
the rest are made up in the shape CouchDB gives them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from core_recorded import body_json, error_of, json_response, recorded, response_of

from corduroy import Conflict, Forbidden, HTTPError, InvalidInput, NotFound
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops.documents import DbRef
from corduroy.ops.query import QUERY_PREFIX, query, query_cleanup, query_design
from corduroy.ops.replication import ServerTraits
from corduroy.views import View

DB = DbRef("misc")
MAP = "function(doc) { emit(doc._id, 1); }"


def gone_410(request: Request) -> HTTPError:
    return error_of(request, recorded("misc3")["temp_view_post_410"])


def not_found(request: Request) -> NotFound:
    error = NotFound(404, "not_found", "missing", method=request.method, url=request.path)
    return error


def rows_response(stream: bool) -> Response:
    body = json.dumps(
        {"total_rows": 2, "offset": 0, "rows": [{"id": "a", "key": "a", "value": 1}]}
    ).encode()
    headers = Headers([("Content-Type", "application/json")])
    if not stream:
        return Response(200, headers, body)

    class Stream:
        def __init__(self) -> None:
            self.data = body

        def read(self, n: int = -1) -> bytes:
            out, self.data = (self.data, b"") if n < 0 else (self.data[:n], self.data[n:])
            return out

        def close(self) -> None:
            pass

    return Response(200, headers, b"", stream=Stream())


def finish(op: Any, answer: Any) -> Any:
    try:
        request = op.throw(answer) if isinstance(answer, BaseException) else op.send(answer)
    except StopIteration as stop:
        return stop.value
    raise AssertionError(f"another request: {request}")


def test_on_couchdb_3_a_410_switches_to_a_hashed_design_document() -> None:
    traits = ServerTraits()
    op = query(DB, traits, MAP, limit=1)
    temp = next(op)
    assert (temp.method, temp.target) == ("POST", "/misc/_temp_view?limit=1")
    ddoc = query_design(MAP)
    assert ddoc.startswith(QUERY_PREFIX)
    view_path = f"/misc/{ddoc}/_view/q"
    get = op.throw(gone_410(temp))  # recorded: 410 gone
    assert traits.temp_views is False
    assert (get.method, get.target) == ("GET", view_path + "?limit=1")
    put = op.throw(not_found(get))  # first use: no such design doc yet
    assert (put.method, put.path) == ("PUT", f"/misc/{ddoc}")
    assert body_json(put) == {
        "_id": ddoc, "language": "javascript", "views": {"q": {"map": MAP}}
    }  # fmt: skip
    again = op.send(json_response(201, {"ok": True, "id": ddoc, "rev": "1-x"}))
    assert (again.method, again.target) == ("GET", view_path + "?limit=1")
    view = finish(op, rows_response(stream=True))
    assert isinstance(view, View)


def test_once_the_server_said_410_the_design_document_is_used_at_once() -> None:
    traits = ServerTraits()
    traits.temp_views = False
    op = query(DB, traits, MAP)
    first = next(op)
    assert (first.method, first.path) == ("GET", f"/misc/{query_design(MAP)}/_view/q")
    assert isinstance(finish(op, rows_response(stream=True)), View)


def test_where_temp_views_exist_they_are_used() -> None:
    traits = ServerTraits()
    op = query(DB, traits, MAP, "  _count\n", group=True)
    temp = next(op)
    assert (temp.method, temp.target) == ("POST", "/misc/_temp_view?group=true")
    assert body_json(temp)["reduce"] == "_count"
    finish(op, rows_response(stream=True))
    assert traits.temp_views is True


def test_a_built_in_reduce_is_sent_without_surrounding_whitespace() -> None:
    # recorded: CouchDB 3.4.3 refuses "\n  _sum" (compiled as JavaScript), so strip it
    refused = recorded("misc3")["ddoc_put_builtin_reduce_leading_newline_400"]
    assert refused["response"]["status"] == 400
    assert query_design(MAP, "\n  _sum") == query_design(MAP, "_sum")
    op = query(DB, ServerTraits(), MAP, "\n  _sum", design=True)
    get = next(op)
    put = op.throw(not_found(get))
    assert body_json(put)["views"]["q"]["reduce"] == "_sum"


def test_the_name_depends_on_the_functions_only() -> None:
    assert query_design(MAP) == query_design(MAP)
    assert query_design(MAP) != query_design(MAP, "_count")
    assert query_design(MAP) != query_design(MAP + " ")
    assert query_design(MAP) != query_design(MAP, language="python")


def test_design_false_never_writes_a_design_document() -> None:
    op = query(DB, ServerTraits(), MAP, design=False)
    temp = next(op)
    with pytest.raises(HTTPError, match="removed them"):
        op.throw(gone_410(temp))


def test_a_design_document_made_meanwhile_by_someone_else_is_used() -> None:
    op = query(DB, ServerTraits(), MAP, design=True)
    get = next(op)
    op.throw(not_found(get))
    again = op.throw(Conflict(409, "conflict", "Document update conflict."))
    assert again.method == "GET"


def test_without_design_document_rights_the_error_says_what_is_needed() -> None:
    exchange = recorded("misc3")["temp_view_post_410"]
    op = query(DB, ServerTraits(), MAP)
    temp = next(op)
    get = op.throw(error_of(temp, exchange))
    put = op.throw(not_found(get))
    refused = Forbidden(403, "forbidden", "You are not a db or server admin.", method="PUT")
    with pytest.raises(Forbidden, match="may not write design documents") as info:
        op.throw(refused)
    assert info.value.__cause__ is refused and put.method == "PUT"


def test_cleanup_reads_the_rows_then_deletes_the_design_document() -> None:
    ddoc = query_design(MAP)
    op = query(DB, ServerTraits(), MAP, design=True, cleanup=True)
    get = next(op)
    assert get.stream is False
    head = op.send(rows_response(stream=False))
    assert (head.method, head.path) == ("GET", f"/misc/{ddoc}")
    delete = op.send(json_response(200, {"_id": ddoc, "_rev": "3-abc"}))
    assert (delete.method, delete.target) == ("DELETE", f"/misc/{ddoc}?rev=3-abc")
    view = finish(op, json_response(200, {"ok": True, "id": ddoc, "rev": "4-def"}))
    assert [row.key for row in view] == ["a"] and view.total_rows == 2


def test_query_cleanup_deletes_every_query_design_document() -> None:
    first, second = query_design(MAP), query_design(MAP, "_count")
    op = query_cleanup(DB)
    listing = next(op)
    assert listing.method == "GET" and listing.path == "/misc/_all_docs"
    params = dict(parse_qsl(listing.query))
    assert json.loads(params["startkey"]) == QUERY_PREFIX
    rows = [
        {"id": first, "key": first, "value": {"rev": "1-a"}},
        {"id": second, "key": second, "value": {"rev": "2-b"}},
    ]
    d1 = op.send(json_response(200, {"total_rows": 5, "offset": 1, "rows": rows}))
    assert (d1.method, d1.target) == ("DELETE", f"/misc/{first}?rev=1-a")
    d2 = op.send(json_response(200, {"ok": True}))
    assert (d2.method, d2.target) == ("DELETE", f"/misc/{second}?rev=2-b")
    cleanup = op.send(json_response(200, {"ok": True}))
    assert (cleanup.method, cleanup.path) == ("POST", "/misc/_view_cleanup")
    assert finish(op, json_response(202, {"ok": True})) == 2


def test_bad_functions_are_refused_before_sending() -> None:
    with pytest.raises(InvalidInput, match="map_src"):
        next(query(DB, ServerTraits(), "  "))
    with pytest.raises(InvalidInput, match="reduce_src"):
        next(query(DB, ServerTraits(), MAP, 7))  # type: ignore[arg-type]


def test_recorded_410_is_the_answer_of_couchdb_3() -> None:
    gone = response_of(recorded("misc3")["temp_view_post_410"])
    assert gone.status == 410 and gone.json()["error"] == "gone"
