"""The error tree: status registry, messages, pickling, decoding error bodies."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

import corduroy
from corduroy import errors
from corduroy.drivers import error_for
from corduroy.errors import (
    BadRequest,
    Conflict,
    CouchError,
    ExpectationFailed,
    Forbidden,
    HTTPError,
    MethodNotAllowed,
    NotAcceptable,
    NotFound,
    PreconditionFailed,
    RangeNotSatisfiable,
    RequestEntityTooLarge,
    ServerError,
    Timeout,
    TooManyRequests,
    Unauthorized,
    UnsupportedMediaType,
    error_class_for,
)
from corduroy.http.messages import Headers, Request, Response

REGISTRY = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: MethodNotAllowed,
    406: NotAcceptable,
    409: Conflict,
    412: PreconditionFailed,
    413: RequestEntityTooLarge,
    415: UnsupportedMediaType,
    416: RangeNotSatisfiable,
    417: ExpectationFailed,
    429: TooManyRequests,
    500: ServerError,
}


@pytest.mark.parametrize(("status", "cls"), sorted(REGISTRY.items()))
def test_status_maps_to_its_class(status: int, cls: type[HTTPError]) -> None:
    assert error_class_for(status) is cls
    assert cls.code == status
    assert issubclass(cls, HTTPError) and issubclass(cls, CouchError)
    assert cls().status == status  # the class knows its own status


@pytest.mark.parametrize("status", [501, 502, 503, 504, 507, 599])
def test_any_5xx_is_a_server_error(status: int) -> None:
    assert error_class_for(status) is ServerError


@pytest.mark.parametrize("status", [402, 407, 408, 410, 418, 422, 451, 499])
def test_an_unknown_4xx_is_a_plain_http_error(status: int) -> None:
    assert error_class_for(status) is HTTPError


def test_not_found_is_a_key_error() -> None:
    exc = NotFound(404, "not_found", "missing")
    assert isinstance(exc, KeyError)
    with pytest.raises(KeyError):
        raise exc
    assert str(exc) == "404 not_found: missing"  # not quoted like KeyError's str


def test_invalid_input_is_a_value_error() -> None:
    assert issubclass(corduroy.InvalidInput, ValueError)
    assert issubclass(corduroy.InvalidInput, CouchError)


def test_transport_errors_are_couch_errors() -> None:
    for cls in (errors.ConnectError, errors.Timeout, errors.ConnectionDropped):
        exc = cls("connection refused", method="GET", url="http://127.0.0.1:1/db")
        assert isinstance(exc, errors.TransportError) and isinstance(exc, CouchError)
        assert not isinstance(exc, HTTPError)
        assert "GET http://127.0.0.1:1/db" in str(exc)


def test_message_has_status_error_reason_method_and_url() -> None:
    exc = Conflict(
        409,
        "conflict",
        "Document update conflict.",
        method="PUT",
        url="http://127.0.0.1:5984/db/doc1",
    )
    text = str(exc)
    for part in ("409", "conflict", "Document update conflict.", "PUT", "/db/doc1"):
        assert part in text
    assert exc.error == "conflict" and exc.reason == "Document update conflict."
    assert exc.method == "PUT" and exc.url == "http://127.0.0.1:5984/db/doc1"


def test_message_without_a_body() -> None:
    assert str(NotFound(method="HEAD", url="http://h/db")) == "404 error (HEAD http://h/db)"


@pytest.mark.parametrize("cls", [*REGISTRY.values(), HTTPError])
def test_pickle_round_trip(cls: type[HTTPError]) -> None:
    exc = cls(
        cls.code or 418,
        "some_error",
        "because",
        method="POST",
        url="http://127.0.0.1:5984/db/_bulk_docs",
        body={"error": "some_error", "reason": "because"},
    )
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is cls
    assert (copy.status, copy.error, copy.reason, copy.method, copy.url, copy.body) == (
        exc.status,
        exc.error,
        exc.reason,
        exc.method,
        exc.url,
        exc.body,
    )
    assert str(copy) == str(exc)


class _Conn:
    def url_for(self, request: Request) -> str:
        return "http://127.0.0.1:5984/" + request.target.lstrip("/")


def _error(status: int, body: bytes, method: str = "GET", path: str = "/db/doc") -> HTTPError:
    request = Request(method, path, "rev=1-a")
    headers = Headers({"Content-Type": "application/json", "X-Couch-Request-ID": "abc"})
    response = Response(status, headers, body)
    return error_for(request, response, _Conn(), body)  # type: ignore[arg-type]


def test_error_for_decodes_couchdb_error_and_reason() -> None:
    exc = _error(404, b'{"error":"not_found","reason":"deleted"}')
    assert type(exc) is NotFound
    assert (exc.status, exc.error, exc.reason) == (404, "not_found", "deleted")
    assert exc.method == "GET" and exc.url == "http://127.0.0.1:5984/db/doc?rev=1-a"
    assert exc.body == {"error": "not_found", "reason": "deleted"}
    assert exc.headers is not None and exc.headers["x-couch-request-id"] == "abc"
    assert "not_found: deleted" in str(exc) and "GET http://127.0.0.1:5984/db/doc" in str(exc)


def test_error_for_decodes_pouchdb_error_and_message() -> None:
    body = b'{"error":"no_usable_index","message":"Cannot sort on field(s) \\"age\\""}'
    exc = _error(400, body, "POST", "/db/_find")
    assert type(exc) is BadRequest
    assert exc.error == "no_usable_index"
    assert exc.reason == 'Cannot sort on field(s) "age"'


def test_error_for_a_text_body() -> None:
    exc = _error(500, b"<html>Error: Missing/invalid DB name</html>\n")
    assert type(exc) is ServerError
    assert exc.error is None and exc.reason == "<html>Error: Missing/invalid DB name</html>"


def test_error_for_an_empty_body() -> None:
    exc = _error(404, b"", "HEAD")
    assert type(exc) is NotFound and exc.body is None and exc.reason is None


def test_error_for_non_string_fields() -> None:
    exc = _error(500, b'{"error":true,"status":500,"message":["a","b"]}')
    assert exc.error == "True" and exc.reason == "['a', 'b']"


def test_error_for_an_unknown_4xx() -> None:
    exc = _error(418, b'{"error":"teapot","reason":"short and stout"}')
    assert type(exc) is HTTPError and exc.status == 418


def test_all_error_classes_are_public() -> None:
    for name in errors.__all__:
        if name != "error_class_for":
            assert getattr(corduroy, name) is getattr(errors, name)


def test_errors_carry_no_credentials() -> None:
    class Conn:
        def url_for(self, request: Request) -> Any:
            from corduroy.connection import Connection, parse_server_url

            return Connection(parse_server_url("http://admin:s3cret@127.0.0.1:5984/")).url_for(
                request
            )

    request = Request("GET", "/db")
    exc = error_for(request, Response(401, Headers(), b""), Conn(), b"")  # type: ignore[arg-type]
    assert "s3cret" not in str(exc) and "s3cret" not in repr(exc)
    assert "s3cret" not in str(pickle.loads(pickle.dumps(exc)))


@pytest.mark.parametrize(
    "name",
    [
        "admin_basic_wrong_password_6_403_locked",
        "admin_basic_right_password_locked_403",
        "admin_basic_right_password_locked_other_endpoint_403",
        "carol_session_form_right_password_locked_403",
        "unknown_user_session_6th_attempt",
    ],
)
def test_couchdb_3_4_lockout_answers_are_account_locked(name: str) -> None:
    from core_recorded import error_of, recorded

    from corduroy import AccountLocked, Forbidden
    from corduroy.http.messages import Request

    exchange = recorded("auth_lockout")[name]
    error = error_of(Request(exchange["request"]["method"], "/_session"), exchange)
    assert type(error) is AccountLocked and isinstance(error, Forbidden)
    assert error.status == 403 and error.error == "forbidden"
    assert "locked" in str(error) and "unlocks by itself after a few minutes" in str(error)


def test_other_auth_answers_keep_their_classes() -> None:
    from core_recorded import error_of, recorded

    from corduroy import AccountLocked, Forbidden, Unauthorized
    from corduroy.http.messages import Request

    fifth = recorded("auth_lockout")["admin_basic_wrong_password_5_401"]
    assert type(error_of(Request("GET", "/_session"), fifth)) is Unauthorized
    plain = Forbidden(403, "forbidden", "You are not allowed to access this db.")
    assert not isinstance(plain, AccountLocked)


def test_account_locked_pickles_as_itself() -> None:
    from corduroy import AccountLocked

    error = AccountLocked(403, "forbidden", errors.LOCKOUT_REASON, method="GET", url="http://x/")
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is AccountLocked and str(again) == str(error)


def test_code_is_the_status_of_the_answer() -> None:
    assert ServerError(503).code == 503
    assert ServerError().code == 500 and NotFound().code == 404
    assert error_class_for(502)(502, "bad_gateway").code == 502
    assert ServerError.code == 500  # the class keeps the status it stands for


def test_pickle_keeps_headers_but_no_session_cookie() -> None:
    headers = Headers(
        [
            ("Retry-After", "3"),
            ("Set-Cookie", "AuthSession=s3cret; Path=/"),
            ("X-Couch-Request-ID", "ab"),
        ]
    )
    exc = ServerError(503, "unavailable", "later", method="GET", url="http://h/db", headers=headers)
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.code, copy.reason, copy.method, copy.url) == (503, "later", "GET", "http://h/db")
    assert copy.headers["retry-after"] == "3" and copy.headers["x-couch-request-id"] == "ab"
    assert "set-cookie" not in copy.headers
    assert b"s3cret" not in pickle.dumps(exc)


def test_transport_errors_pickle_with_method_and_url() -> None:
    exc = Timeout("timed out waiting for the response", method="GET", url="http://h/db/x")
    exc.failure = "read"  # attributes the transport adds travel too
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is Timeout and str(copy) == str(exc)
    assert (copy.method, copy.url, copy.failure) == ("GET", "http://h/db/x", "read")
