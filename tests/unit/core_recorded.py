"""Recorded CouchDB 3.4.3 exchanges (tests/fixtures/couchdb3/core_*.jsonl) fed to operations.

An operation is driven by hand: each request it yields is compared with the recorded
request, then the recorded response is sent back (or, for an error status, the exception
the drivers would raise is thrown in at the ``yield``).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from corduroy.drivers import error_for
from corduroy.errors import HTTPError
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops.base import Op

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "couchdb3"

Exchange = dict[str, Any]


@cache
def recorded(stem: str) -> dict[str, Exchange]:
    """The exchanges of ``tests/fixtures/couchdb3/<stem>.jsonl``, by name."""
    exchanges: dict[str, Exchange] = {}
    with open(FIXTURES / f"{stem}.jsonl", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                exchange = json.loads(line)
                exchanges[exchange["name"]] = exchange
    return exchanges


def _load(area: str) -> dict[str, Exchange]:
    return recorded(f"core_{area}")


def exchange(area: str, name: str) -> Exchange:
    """One recorded exchange of ``core_<area>.jsonl``."""
    return _load(area)[name]


def response_of(recorded: Exchange) -> Response:
    """The recorded response as corduroy's transports would deliver it."""
    resp = recorded["response"]
    pairs: list[tuple[str, str]] = []
    for name, value in resp["headers"].items():
        for item in value if isinstance(value, list) else [value]:
            pairs.append((name, item))
    body = resp["body"]
    if isinstance(body, str):
        raw = body.encode()
    else:
        raw = json.dumps(body).encode()
    return Response(resp["status"], Headers(pairs), raw)


class _Conn:
    """Just enough of a ``Connection`` for ``error_for``."""

    def url_for(self, request: Request) -> str:
        return "http://127.0.0.1:5984/" + request.target.lstrip("/")


def error_of(request: Request, recorded: Exchange) -> HTTPError:
    """The exception the drivers raise for this recorded error response."""
    response = response_of(recorded)
    return error_for(request, response, _Conn(), response.body)  # type: ignore[arg-type]


def body_json(request: Request) -> Any:
    assert isinstance(request.body, bytes), request.body
    return json.loads(request.body)


def assert_matches(request: Request, recorded: Exchange) -> None:
    """``request`` is the recorded request: method, path with query, JSON body.

    corduroy also puts a document's ``_id`` in its body (the recorder left it to the url).
    """
    want = recorded["request"]
    assert (request.method, request.target) == (want["method"], want["path"])
    if want["body"] is None:
        assert request.body is None
    else:
        got = body_json(request)
        if isinstance(got, dict) and "_id" not in want["body"]:
            got.pop("_id", None)
        assert got == want["body"]
        assert request.header("Content-Type") == "application/json"


def answer(op: Op[Any], request: Request, recorded: Exchange) -> Any:
    """Answer ``request`` (already taken from ``op``) with ``recorded``'s response.

    Returns the op's next request, or raises ``StopIteration`` carrying its result.
    An error status is thrown in, as the drivers do.
    """
    response = response_of(recorded)
    if response.status >= 400:
        return op.throw(error_of(request, recorded))
    return op.send(response)


def finish(op: Op[Any], request: Request, recorded: Exchange) -> Any:
    """Answer the op's last request and return its result."""
    try:
        extra = answer(op, request, recorded)
    except StopIteration as stop:
        return stop.value
    raise AssertionError(f"operation sent another request: {extra}")


def replay(op: Op[Any], *recorded: Exchange) -> Any:
    """Drive ``op`` through ``recorded`` in order, checking each request; return the result."""
    request = next(op)
    for i, ex in enumerate(recorded):
        assert_matches(request, ex)
        if i == len(recorded) - 1:
            return finish(op, request, ex)
        request = answer(op, request, ex)
    raise AssertionError("nothing to replay")


def json_response(status: int, body: Any, headers: tuple[tuple[str, str], ...] = ()) -> Response:
    """A made-up JSON response (for cases the recordings do not have)."""
    return Response(
        status, Headers((("Content-Type", "application/json"), *headers)), json.dumps(body).encode()
    )
