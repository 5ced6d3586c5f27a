"""The values that cross the boundary between operations and transports.

Operations (``corduroy.ops``) yield :class:`Request` values and receive
:class:`Response` values; they never see a socket. Transports
(``corduroy.http.sync_pool`` and ``corduroy.http.async_pool``) turn one into the
other. Both sides share these types, so they hold no I/O.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol
from urllib.parse import quote

import orjson

from corduroy.errors import HTTPError, error_class_for
from corduroy.http.jsonexact import loads

__all__ = [
    "AsyncBody",
    "Body",
    "Headers",
    "Request",
    "Response",
    "SyncBody",
    "basic_header",
    "encode_query",
    "error_from",
    "parse_head",
]

#: A request body: nothing, bytes, or chunks sent with chunked transfer encoding.
Body = bytes | Iterable[bytes] | AsyncIterable[bytes] | None


def parse_head(head: bytes) -> tuple[str, list[tuple[str, str]]]:
    """The reason phrase and the fields of a response head: its status line and
    header lines, each ending with CRLF, as the HTTP parser checked them (no
    folded lines)."""
    lines = head.decode("latin-1").split("\r\n")
    status = lines[0].split(" ", 2)
    fields = []
    for line in lines[1:]:
        if line:
            name, _, value = line.partition(":")
            fields.append((name, value.strip(" \t")))
    return status[2] if len(status) > 2 else "", fields


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only HTTP headers; repeated fields are joined with ``, ``.

    A response's are made with :meth:`from_head` and read from its raw head only
    when first used: most calls never look at them.
    """

    __slots__ = ("_head", "_list", "_merged", "_reason")

    def __init__(self, items: Iterable[tuple[str, str]] | Mapping[str, str] = ()) -> None:
        pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
        self._list: list[tuple[str, str]] | None = pairs
        self._reason = ""
        self._head = b""
        self._merged: dict[str, tuple[str, str]] | None = None  # built on first lookup

    @classmethod
    def from_head(cls, head: bytes) -> Headers:
        """The fields of a response head (see :func:`parse_head`), parsed when first read."""
        headers = cls.__new__(cls)
        headers._head = head
        headers._list = headers._merged = None
        return headers

    def _parsed(self) -> list[tuple[str, str]]:
        """The fields; a raw head (and its reason phrase) is parsed on first use."""
        items = self._list
        if items is None:
            self._reason, items = parse_head(self._head)
            self._list = items
        return items

    _items = property(_parsed)

    @property
    def reason(self) -> str:
        """The reason phrase of the response's status line (``""`` if unknown)."""
        self._parsed()
        return self._reason

    @property
    def _map(self) -> dict[str, tuple[str, str]]:
        merged = self._merged
        if merged is None:
            merged = {}
            for name, value in self._items:
                key = name.lower()
                if key in merged:
                    merged[key] = (merged[key][0], merged[key][1] + ", " + value)
                else:
                    merged[key] = (name, value)
            self._merged = merged
        return merged

    def __getitem__(self, name: str) -> str:
        return self._map[name.lower()][1]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._map

    def __iter__(self) -> Iterator[str]:
        return (original for original, _ in self._map.values())

    def __len__(self) -> int:
        return len(self._map)

    def get_all(self, name: str) -> list[str]:
        """Every value of a repeated header (``Set-Cookie``), in arrival order."""
        key = name.lower()
        return [v for n, v in self._items if n.lower() == key]

    def raw(self) -> list[tuple[str, str]]:
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({dict((k, v) for k, v in self._map.values())!r})"


def _encode_param(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return orjson.dumps(value).decode()


def encode_query(params: Mapping[str, Any] | Iterable[tuple[str, Any]]) -> str:
    """Percent-encode query parameters; ``None`` values are left out.

    Strings are sent as they are, booleans as ``true``/``false``, other values as
    JSON. Operations that need JSON-encoded strings (view keys) encode them first.
    """
    pairs = params.items() if isinstance(params, Mapping) else params
    parts = []
    for name, value in pairs:
        if value is None:
            continue
        parts.append(quote(name, safe="") + "=" + quote(_encode_param(value), safe=""))
    return "&".join(parts)


class Request(NamedTuple):
    """One HTTP request, described, not sent.

    ``path`` is already percent-encoded and relative to the server's root url
    (``/db/doc%2Fid``); the transport prepends any base path of the server url.
    ``query`` holds the already-encoded query string (see :func:`encode_query`).
    ``stream`` asks the transport for a :class:`Response` whose body is left on
    the connection and read through ``Response.stream``.

    A ``NamedTuple``, so immutable: made for every request, it costs a third of
    what a frozen dataclass does (whose ``__init__`` calls ``object.__setattr__``
    once per field). ``request._replace(headers=...)`` makes a changed copy.
    """

    method: str
    path: str
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    body: Body = None
    stream: bool = False
    #: safe to send again after a failure (GET/HEAD and read-only POSTs)
    idempotent: bool | None = None
    #: per-request read timeout override, in seconds
    timeout: float | None = None

    @property
    def target(self) -> str:
        return self.path + ("?" + self.query if self.query else "")

    @property
    def is_idempotent(self) -> bool:
        if self.idempotent is not None:
            return self.idempotent
        return self.method in ("GET", "HEAD", "OPTIONS")

    @property
    def replayable(self) -> bool:
        """The body can be sent again: none, or bytes (chunks from an iterator cannot)."""
        body = self.body
        return body is None or isinstance(body, bytes | bytearray | memoryview)

    @property
    def resendable(self) -> bool:
        """Safe to send again when the server may have seen it: idempotent and replayable."""
        return self.replayable and self.is_idempotent

    def header(self, name: str) -> str | None:
        key = name.lower()
        for n, v in self.headers:
            if n.lower() == key:
                return v
        return None


class SyncBody(Protocol):
    """A response body still on the wire (blocking)."""

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all that is left for -1); ``b""`` at the end."""
        ...

    def close(self) -> None:
        """Stop reading; the connection is discarded unless the body was fully read."""
        ...


class AsyncBody(Protocol):
    """A response body still on the wire (asyncio)."""

    async def read(self, n: int = -1) -> bytes: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class Response:
    """A received HTTP response.

    ``body`` holds the whole body, unless the request asked to ``stream``: then
    ``body`` is ``b""`` and ``stream`` is a :class:`SyncBody` or :class:`AsyncBody`.
    A large body arrives in one ``bytearray`` of its length (see
    ``wire.DIRECT_MIN``); ``data`` gives it as received, ``body`` as ``bytes``
    (made, with one copy, on first read) and :meth:`json` decodes it in place.
    """

    status: int
    headers: Headers
    _body: bytes | bytearray = b""
    stream: Any = None
    _json: Any = field(default=None, repr=False)
    _decoded: bool = field(default=False, repr=False)

    @property
    def reason(self) -> str:
        """The reason phrase of the status line (``"OK"``)."""
        return self.headers.reason

    @property
    def body(self) -> bytes:
        body = self._body
        if type(body) is not bytes:
            body = self._body = bytes(body)
        return body

    @property
    def data(self) -> bytes | bytearray:
        """The body as received: no copy (what JSON decoding reads)."""
        return self._body

    def json(self) -> Any:
        """The body decoded as JSON (cached); ``None`` for an empty body."""
        if not self._decoded:
            self._json = loads(self._body) if self._body else None
            self._decoded = True
        return self._json

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def basic_header(username: str, password: str) -> tuple[str, str]:
    """The ``Authorization: Basic`` header for ``username``/``password``."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return ("Authorization", "Basic " + token)


def _decode_error_body(body: bytes) -> Any:
    if not body:
        return None
    try:
        return loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")


def error_from(request: Request, response: Response, url: str, body: bytes) -> HTTPError:
    """The exception for an error response to ``request`` (sent to ``url``, no credentials)."""
    decoded = _decode_error_body(body)
    error = reason = None
    if isinstance(decoded, dict):
        error = decoded.get("error")
        reason = decoded.get("reason", decoded.get("message"))
        if error is not None and not isinstance(error, str):
            error = str(error)
        if reason is not None and not isinstance(reason, str):
            reason = str(reason)
    elif isinstance(decoded, str) and decoded.strip():
        reason = decoded.strip()[:200]
    cls = error_class_for(response.status, reason)
    return cls(
        response.status,
        error,
        reason,
        method=request.method,
        url=url,
        body=decoded,
        headers=response.headers,
    )
