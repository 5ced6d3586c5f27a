"""An asyncio response body read from its connection as the caller asks for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from corduroy.errors import ConnectionDropped, Timeout, TransportError
from corduroy.http.async_conn import COMPLETE, DATA, Connection
from corduroy.http.messages import Request
from corduroy.http.wire import ParseError

if TYPE_CHECKING:
    from corduroy.http.async_pool import AsyncTransport, _Pool

__all__ = ["AsyncStream"]


class AsyncStream:
    """A response body read from the connection as the caller asks for it."""

    __slots__ = ("_conn", "_pool", "_request", "_timeout", "_transport")

    def __init__(
        self,
        transport: AsyncTransport,
        pool: _Pool,
        conn: Connection,
        request: Request,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._pool = pool
        self._conn: Connection | None = conn
        self._request = request
        self._timeout = timeout
        conn.wake_on = DATA

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (everything left for -1); ``b""`` at the end."""
        conn = self._conn
        if conn is None or n == 0:
            return b""
        parser = conn.parser
        if n < 0:
            conn.wake_on = COMPLETE
            conn.streaming = False
            conn.resume()
            while not parser.complete:
                await self._wait(conn)
        else:
            while not parser.buffered and not parser.complete:
                await self._wait(conn)
        data = parser.take(n)
        if parser.complete and not parser.buffered:
            self._conn = None
            self._transport._release(self._pool, conn)
        else:
            conn.resume()
        return data

    async def _wait(self, conn: Connection) -> None:
        where = self._transport._where
        exc = conn.failure
        if exc is None:
            try:
                await conn.wait(self._timeout)
            except BaseException:
                self._drop(conn)
                raise
            if conn.timed_out:
                self._drop(conn)
                raise Timeout("timed out reading the body", **where(self._request))
            exc = conn.failure
            if exc is None:
                return
        self._drop(conn)
        if isinstance(exc, ParseError):
            raise TransportError(str(exc), **where(self._request))
        raise ConnectionDropped(f"connection lost during the body: {exc}", **where(self._request))

    def _drop(self, conn: Connection) -> None:
        self._conn = None
        self._transport._discard(self._pool, conn)

    async def aclose(self) -> None:
        """Stop reading; the connection is reused only if the body was read to the end."""
        conn, self._conn = self._conn, None
        if conn is None:
            return
        if conn.parser.complete:
            self._transport._release(self._pool, conn)
        else:
            self._transport._discard(self._pool, conn)

    async def __aenter__(self) -> AsyncStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
