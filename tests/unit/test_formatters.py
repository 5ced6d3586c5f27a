"""Show, list and update operations driven by hand against recorded CouchDB 3.4.3 exchanges."""

from __future__ import annotations

import base64
import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from corduroy import Forbidden, HTTPError, InvalidInput, NotFound, ServerError
from corduroy.drivers import error_for
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops import formatters as ops
from corduroy.ops.base import Op
from corduroy.ops.documents import DbRef

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "couchdb3"


@cache
def recorded(area: str) -> dict[str, dict[str, Any]]:
    with open(FIXTURES / f"{area}.jsonl", encoding="utf-8") as lines:
        return {ex["name"]: ex for ex in map(json.loads, lines) if ex}


def response_of(exchange: dict[str, Any]) -> Response:
    """The recorded response as the transports deliver it (body as raw bytes)."""
    resp = exchange["response"]
    pairs = [
        (name, item)
        for name, value in resp["headers"].items()
        for item in (value if isinstance(value, list) else [value])
    ]
    body = resp["body"]
    if resp.get("body_base64"):
        raw = base64.b64decode(body)
    elif isinstance(body, str):
        raw = body.encode()
    elif body is None:
        raw = b""
    else:
        raw = json.dumps(body).encode()
    return Response(resp["status"], Headers(pairs), raw)


class _Conn:
    def url_for(self, request: Request) -> str:
        return "http://127.0.0.1:5984" + request.target


def run(op: Op[Any], exchange: dict[str, Any]) -> tuple[Request, Any]:
    """Send ``op`` the recorded answer to its one request; return (request, result).

    An error status is thrown in at the ``yield``, as the drivers do.
    """
    request = next(op)
    want = exchange["request"]
    assert (request.method, request.target) == (want["method"], want["path"])
    response = response_of(exchange)
    try:
        if response.status >= 400:
            op.throw(error_for(request, response, _Conn(), response.body))  # type: ignore[arg-type]
        else:
            op.send(response)
    except StopIteration as stop:
        return request, stop.value
    raise AssertionError("the operation sent a second request")


def fmt(name: str) -> dict[str, Any]:
    return recorded("formatters")[name]


@pytest.fixture
def ref() -> DbRef:
    return DbRef("fmt")


# -- show --------------------------------------------------------------------------


def test_show_sends_accept_any_not_json_and_decodes_text(ref: DbRef) -> None:
    request, result = run(ops.show(ref, "fmt/hello", "apple"), fmt("show_with_doc"))
    assert request.header("Accept") == "*/*"
    assert result.code == 200
    assert result.body == "Hello apple; query={}"
    assert result.headers["Content-Type"] == "text/plain"
    assert result.headers["x-show"] == "yes"  # case-insensitive, custom headers kept


def test_show_accept_is_the_callers(ref: DbRef) -> None:
    request = next(ops.show(ref, "fmt/hello", "apple", accept="text/html"))
    assert request.header("Accept") == "text/html"


def test_show_query_arguments_reach_the_function(ref: DbRef) -> None:
    op = ops.show(ref, "fmt/hello", "apple", format="short", x=1)
    _, result = run(op, fmt("show_with_doc_query"))
    assert result.body.startswith("Hello apple; query=")


def test_show_without_a_document(ref: DbRef) -> None:
    _, result = run(ops.show(ref, "fmt/hello", x=1), fmt("show_without_doc"))
    assert result.body.startswith("no doc")


def test_show_json_body_is_decoded(ref: DbRef) -> None:
    _, result = run(ops.show(ref, "fmt/json", "banana", a="b"), fmt("show_json"))
    assert result.body["id"] == "banana"
    assert result.body["query"] == {"a": "b"}


def test_show_bare_string_is_html_text(ref: DbRef) -> None:
    _, result = run(ops.show(ref, "_design/fmt/plain", "apple"), fmt("show_plain_string"))
    assert result.body == "plain string for apple"
    assert isinstance(result.body, str)


def test_show_that_throws_raises_server_error_with_reason(ref: DbRef) -> None:
    with pytest.raises(ServerError) as info:
        run(ops.show(ref, "fmt/boom", "apple"), fmt("show_throws_500"))
    assert info.value.error == "render_error"
    assert "show failed" in str(info.value)


def test_missing_show_function_is_not_found(ref: DbRef) -> None:
    with pytest.raises(NotFound):
        run(ops.show(ref, "fmt/nope", "apple"), fmt("show_missing_function_404"))


def test_show_quotes_the_doc_id_and_function(ref: DbRef) -> None:
    request = next(ops.show(ref, "fmt/hello", "a/b c+d"))
    assert request.path == "/fmt/_design/fmt/_show/hello/a%2Fb%20c%2Bd"


@pytest.mark.parametrize("name", ["nodesign", "/x", "x/", "", None])
def test_bad_function_names_are_refused_before_sending(ref: DbRef, name: Any) -> None:
    with pytest.raises(InvalidInput):
        next(ops.show(ref, name))


# -- list --------------------------------------------------------------------------


def test_list_over_a_view_of_the_same_design_doc(ref: DbRef) -> None:
    request, result = run(ops.list_view(ref, "fmt/csv", "by_name"), fmt("list_csv"))
    assert request.header("Accept") == "*/*"
    assert result.body.splitlines()[1:3] == ["apple,3", "banana,5"]
    assert result.content_type == "text/csv"


def test_list_view_options_are_json_encoded(ref: DbRef) -> None:
    _, result = run(ops.list_view(ref, "fmt/csv", "by_name", key="cherry"), fmt("list_key"))
    assert "cherry,7" in result.body
    op = ops.list_view(ref, "fmt/csv", "by_name", limit=2, descending=True)
    _, result = run(op, fmt("list_limit_descending"))
    assert result.body.splitlines()[1:3] == ["eggplant,1", "date,2"]


def test_list_over_a_view_of_another_design_doc(ref: DbRef) -> None:
    _, result = run(ops.list_view(ref, "fmt/csv", "other/by_n"), fmt("list_other_ddoc_view"))
    assert result.body.splitlines()[1] == '1,"eggplant"'


def test_list_emitting_json(ref: DbRef) -> None:
    _, result = run(ops.list_view(ref, "fmt/json", "by_name"), fmt("list_json"))
    assert result.body == {"keys": ["apple", "banana", "cherry", "date", "eggplant"]}


def test_list_with_keys_posts_them(ref: DbRef) -> None:
    request = next(ops.list_view(ref, "fmt/csv", "by_name", keys=["a", "b"], limit=1))
    assert request.method == "POST"
    assert request.target == "/fmt/_design/fmt/_list/csv/by_name?limit=1"
    assert json.loads(request.body) == {"keys": ["a", "b"]}  # type: ignore[arg-type]
    assert request.header("Accept") == "*/*"


def test_missing_list_function_is_not_found(ref: DbRef) -> None:
    with pytest.raises(NotFound):
        run(ops.list_view(ref, "fmt/nope", "by_name"), fmt("list_missing_function_404"))


@pytest.mark.parametrize("view", ["", "a/b/c", "a//", None])
def test_bad_view_names_are_refused(ref: DbRef, view: Any) -> None:
    with pytest.raises(InvalidInput):
        next(ops.list_view(ref, "fmt/csv", view))


# -- update ------------------------------------------------------------------------


def test_update_with_id_form_encodes_a_dict(ref: DbRef) -> None:
    op = ops.update(ref, "fmt/bump", "apple", {"color": "red", "size": "big"}, q=1)
    request, result = run(op, fmt("update_put_doc_form"))
    assert request.body == b"color=red&size=big"
    assert request.header("Content-Type") == "application/x-www-form-urlencoded"
    assert request.header("Accept") == "*/*"
    assert result.code == 201
    assert result.body == "bumped apple to 1"
    assert result.id == "apple"
    assert result.rev == "2-870c1ce69c4399048358772f7b940046"


def test_update_str_body_is_sent_as_is(ref: DbRef) -> None:
    request, result = run(
        ops.update(ref, "fmt/bump", "apple", "raw body text"), fmt("update_put_doc_raw")
    )
    assert request.body == b"raw body text"
    assert request.header("Content-Type") == "text/plain; charset=utf-8"
    assert result.body == "bumped apple to 2"


def test_update_with_a_new_id(ref: DbRef) -> None:
    request, result = run(ops.update(ref, "fmt/bump", "brand-new"), fmt("update_put_new_id"))
    assert request.method == "PUT"
    assert result.id == "brand-new"
    assert result.rev.startswith("1-")


def test_update_without_id_posts(ref: DbRef) -> None:
    request, result = run(ops.update(ref, "fmt/bump", None, {"x": 1}), fmt("update_post_no_id"))
    assert request.method == "POST"
    assert result.body == "nothing to do; body=x=1"
    assert result.id is None and result.rev is None


def test_update_json_body_with_content_type(ref: DbRef) -> None:
    op = ops.update(ref, "fmt/create", body='{"from": "update"}', content_type="application/json")
    request, result = run(op, fmt("update_post_create_json"))
    assert request.header("Content-Type") == "application/json"
    assert result.body == {"created": result.id}


def test_update_handler_error_code_raises_with_its_body(ref: DbRef) -> None:
    with pytest.raises(HTTPError) as info:
        run(ops.update(ref, "fmt/json_resp", body=""), fmt("update_custom_code_418"))
    assert info.value.status == 418
    assert info.value.body == {"teapot": True, "method": "POST"}


def test_update_rejected_by_validate_doc_update_is_forbidden(ref: DbRef) -> None:
    op = ops.update(ref, "fmt/create", body='{"forbid": true}', content_type="application/json")
    with pytest.raises(Forbidden) as info:
        run(op, fmt("update_vdu_forbidden_403"))
    assert info.value.reason == "forbid field is not allowed"


def test_update_form_values_are_encoded_as_text() -> None:
    data, ctype = ops.encode_update_body(
        {"s": "é &", "n": 3, "b": True, "none": None, "many": ["a", "b"], "obj": {"k": 1}}, None
    )
    assert ctype == "application/x-www-form-urlencoded"
    assert data is not None
    assert parse_qsl(data.decode(), keep_blank_values=True) == [
        ("s", "é &"),
        ("n", "3"),
        ("b", "true"),
        ("none", ""),
        ("many", "a"),
        ("many", "b"),
        ("obj", '{"k":1}'),
    ]


def test_update_body_types() -> None:
    assert ops.encode_update_body(b"\x00\x01", None) == (b"\x00\x01", "application/octet-stream")
    assert ops.encode_update_body(None, None) == (None, None)
    with pytest.raises(InvalidInput):
        ops.encode_update_body(3.5, None)


# -- response decoding ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body", "expected"),
    [
        ("application/json", b'{"a":1}', {"a": 1}),
        ("application/vnd.api+json; charset=utf-8", b"[1]", [1]),
        ("application/json", b"", None),
        ("application/json", b"not json", "not json"),
        ("text/html; charset=utf-8", "é".encode(), "é"),
        ("text/csv; charset=latin-1", "é".encode("latin-1"), "é"),
        ("text/plain; charset=nonsense", b"abc", "abc"),
        ("application/xml", b"<a/>", "<a/>"),
        ("image/png", b"\x89PNG", b"\x89PNG"),
        ("", b"\x00", b"\x00"),
    ],
)
def test_body_is_decoded_by_content_type(content_type: str, body: bytes, expected: Any) -> None:
    assert ops.decode_body(content_type, body) == expected


def test_response_repr() -> None:
    response = ops.FormatterResponse(200, Headers({"Content-Type": "text/csv"}), "a,b\n")
    assert repr(response) == "<FormatterResponse 200 text/csv, 4 chars>"


# -- provides() on CouchDB 3.4.3 (misc3.jsonl) -------------------------------------------


def test_provides_json_returned_as_a_string_has_a_body(ref: DbRef) -> None:
    # the form the docs and the live tests use: it works on CouchDB 3.4 and pouchdb-server
    ex = recorded("misc3")["show_provides_return_string"]
    op = ops.show(DbRef("misc"), "shows/provides_return_string", accept="application/json")
    _request, result = run(op, ex)
    assert result.code == 200 and result.body == {"hi": True}


def test_provides_json_returned_as_an_object_is_empty_on_couchdb_3(ref: DbRef) -> None:
    # why the docs do not use it: 200 application/json with no body at all
    ex = recorded("misc3")["show_provides_return_json_empty_body"]
    op = ops.show(DbRef("misc"), "shows/provides_return_json", accept="application/json")
    _, result = run(op, ex)
    assert result.code == 200 and result.body in ("", None, b"")


def test_provides_without_the_asked_format_is_not_acceptable(ref: DbRef) -> None:
    from corduroy import NotAcceptable

    ex = recorded("misc3")["show_provides_accept_html_406"]
    op = ops.show(DbRef("misc"), "shows/provides_return_string", accept="text/html")
    with pytest.raises(NotAcceptable):
        run(op, ex)
