"""A blocking response body read from its connection as the caller asks for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corduroy.errors import ConnectionDropped, Timeout, TransportError
from corduroy.http.messages import Request
from corduroy.http.wire import IncompleteResponse, ParseError

if TYPE_CHECKING:
    from corduroy.http.sync_pool import SyncTransport, _Connection

__all__ = ["RECV_SIZE", "SyncStream"]

RECV_SIZE = 65536


class SyncStream:
    """A response body read from the connection as the caller asks for it."""

    __slots__ = ("_conn", "_request", "_transport")

    def __init__(self, transport: SyncTransport, conn: _Connection, request: Request) -> None:
        self._transport = transport
        self._conn: _Connection | None = conn
        self._request = request

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (everything left for -1); ``b""`` at the end."""
        conn = self._conn
        if conn is None:
            return b""
        parser = conn.parser
        if n == 0:
            return b""
        if n < 0:
            while not parser.complete:
                self._fill(conn)
        else:
            while not parser.buffered and not parser.complete:
                self._fill(conn)
        data = parser.take(n)
        if parser.complete and not parser.buffered:
            self._conn = None
            self._transport._release(conn)
        return data

    def _fill(self, conn: _Connection) -> None:
        where = self._transport._where
        try:
            data = conn.sock.recv(RECV_SIZE)
            if data:
                conn.parser.feed(data)
            else:
                conn.parser.feed_eof()
        except BaseException as exc:
            self._conn = None
            self._transport._discard(conn)
            if isinstance(exc, TimeoutError | BlockingIOError):
                raise Timeout("timed out reading the body", **where(self._request)) from None
            if isinstance(exc, OSError | IncompleteResponse):
                raise ConnectionDropped(
                    f"connection lost during the body: {exc}", **where(self._request)
                ) from exc
            if isinstance(exc, ParseError):
                raise TransportError(str(exc), **where(self._request)) from None
            raise

    def close(self) -> None:
        """Stop reading; the connection is reused only if the body was read to the end."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if conn.parser.complete:
            self._transport._release(conn)
        else:
            self._transport._discard(conn)

    def __enter__(self) -> SyncStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
