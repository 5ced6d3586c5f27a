"""Helpers for the view and Mango unit tests (no tests here): recorded CouchDB 3.4.3
exchanges, and fake streamed bodies that hand the recorded bytes out a few at a time."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from corduroy.drivers import Streamed, error_for
from corduroy.errors import HTTPError
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops.base import Op

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "couchdb3"

Exchange = dict[str, Any]


@cache
def _load(area: str) -> dict[str, Exchange]:
    found: dict[str, Exchange] = {}
    with open(FIXTURES / f"{area}.jsonl", encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                item = json.loads(line)
                found[item["name"]] = item
    return found


def exchange(area: str, name: str) -> Exchange:
    return _load(area)[name]


def body_bytes(recorded: Exchange) -> bytes:
    body = recorded["response"]["body"]
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


class FakeStream:
    """A blocking body on the 'wire': ``read(n)`` gives at most ``chunk`` bytes."""

    def __init__(self, data: bytes, chunk: int = 7) -> None:
        self.data = data
        self.pos = 0
        self.chunk = chunk
        self.closed = False
        self.reads = 0

    def read(self, n: int = -1) -> bytes:
        assert not self.closed, "read after close"
        self.reads += 1
        size = len(self.data) - self.pos if n < 0 else min(n, self.chunk)
        piece = self.data[self.pos : self.pos + size]
        self.pos += len(piece)
        return piece

    def close(self) -> None:
        self.closed = True

    @property
    def complete(self) -> bool:
        return self.pos >= len(self.data)


class FakeAsyncStream(FakeStream):
    async def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        return FakeStream.read(self, n)

    async def aclose(self) -> None:
        self.closed = True


def response(status: int, data: bytes, stream: Any = None) -> Response:
    headers = Headers([("Content-Type", "application/json")])
    if stream is not None:
        return Response(status, headers, b"", stream=stream)
    return Response(status, headers, data)


class _Conn:
    def url_for(self, request: Request) -> str:
        return "http://127.0.0.1:5984/" + request.target.lstrip("/")


def drive(op: Op[Any], recorded: Exchange, stream: Any = None) -> Any:
    """Check the op's one request against ``recorded`` and answer it with the recording.

    Returns the op's result (a ``Streamed`` result is *not* finished).
    """
    request = next(op)
    want = recorded["request"]
    assert (request.method, request.target) == (want["method"], want["path"])
    if want["body"] is not None:
        assert isinstance(request.body, bytes)
        assert json.loads(request.body) == want["body"]
    if request.method == "POST":
        assert request.header("Content-Type") == "application/json"
    data = body_bytes(recorded)
    status = recorded["response"]["status"]
    try:
        if status >= 400:
            resp = response(status, data)
            error: HTTPError = error_for(request, resp, _Conn(), data)  # type: ignore[arg-type]
            op.throw(error)
        elif request.stream:
            op.send(response(status, b"", stream or FakeStream(data)))
        else:
            op.send(response(status, data))
    except StopIteration as stop:
        return stop.value
    raise AssertionError("the operation sent a second request")


def finish(result: Any) -> Any:
    assert isinstance(result, Streamed)
    return result.finish_sync()
