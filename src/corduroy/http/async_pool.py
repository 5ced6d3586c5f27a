"""The asyncio transport: an ``asyncio.Protocol`` per connection, a keep-alive pool per loop."""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterable, Iterable, Sequence

from corduroy.errors import ConnectError, ConnectionDropped, Timeout, TransportError
from corduroy.http.config import HTTPConfig, TransportBase
from corduroy.http.messages import Headers, Request, Response
from corduroy.http.wire import (
    LAST_CHUNK,
    IncompleteResponse,
    ParseError,
    ResponseParser,
    encode_chunk,
)

__all__ = ["AsyncStream", "AsyncTransport"]

_FIXED = (bytes, bytearray, memoryview)
#: a streamed body pauses reading above HIGH buffered bytes, resumes below LOW
_HIGH, _LOW = 256 * 1024, 64 * 1024
# what wakes a waiting request: the whole message, the head, any body bytes
_COMPLETE, _HEAD, _DATA = 0, 1, 2

_transports: weakref.WeakSet[AsyncTransport] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for transport in list(_transports):
        transport._pools = weakref.WeakKeyDictionary()  # the parent's loops are not ours
        transport._last = None
        transport._pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _Retry(Exception):
    """A reused connection failed before any byte of the response arrived."""


class _Connection(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.waiter: asyncio.Future[None] | None = None
        self.wake_on = _COMPLETE
        self.streaming = False
        self.failure: BaseException | None = None
        self.closed = False
        self.reused = False
        self.timed_out = False
        self.reading_paused = False
        self.writing_paused = False
        self.drain_waiter: asyncio.Future[None] | None = None
        self.idle_since = 0.0
        # read timeout: one timer per connection, re-armed only when it fires
        self.idle_limit: float | None = None
        self.last_activity = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.timer_at = 0.0

    # protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        if self.idle_limit is not None:
            self.last_activity = self.loop.time()
        try:
            parser.feed(data)
        except ParseError as exc:
            self.failure = exc
            self.abort()
            self._wake()
            return
        if self.streaming and parser.buffered > _HIGH and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]
        if self.waiter is not None:
            wake_on = self.wake_on
            if (
                parser.complete
                or (wake_on == _HEAD and parser.headers_complete)
                or (wake_on == _DATA and parser.buffered)
            ):
                self._wake()

    def eof_received(self) -> bool:
        try:
            self.parser.feed_eof()
        except IncompleteResponse as exc:
            self.failure = exc
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if not self.parser.complete and self.failure is None:
            self.failure = exc or IncompleteResponse("connection closed")
        self._wake()
        drain = self.drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    def pause_writing(self) -> None:
        self.writing_paused = True

    def resume_writing(self) -> None:
        self.writing_paused = False
        drain = self.drain_waiter
        if drain is not None and not drain.done():
            drain.set_result(None)

    # helpers

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def _arm(self, when: float) -> None:
        self.timer_at = when
        self.timer = self.loop.call_at(when, self._on_timer)

    def _on_timer(self) -> None:
        self.timer = None
        limit = self.idle_limit
        if limit is None or self.waiter is None:
            return
        now = self.loop.time()
        if self.last_activity + limit > now:
            self._arm(self.last_activity + limit)
        else:
            self.timed_out = True
            self._wake()

    async def wait(self, idle_limit: float | None) -> None:
        """Wait to be woken by the protocol, or until ``idle_limit`` s without any data."""
        waiter = self.loop.create_future()
        self.waiter = waiter
        if idle_limit is None:
            await waiter
            return
        now = self.last_activity = self.loop.time()
        self.idle_limit = idle_limit
        timer = self.timer
        if timer is None:
            self._arm(now + idle_limit)
        elif self.timer_at > now + idle_limit:
            timer.cancel()
            self._arm(now + idle_limit)
        try:
            await waiter
        finally:
            self.idle_limit = None

    async def drain(self) -> None:
        while self.writing_paused and not self.closed:
            self.drain_waiter = self.loop.create_future()
            await self.drain_waiter

    def resume(self) -> None:
        if self.reading_paused and (self.parser.buffered < _LOW or not self.streaming):
            self.reading_paused = False
            if not self.closed:
                self.transport.resume_reading()  # type: ignore[union-attr]

    def abort(self) -> None:
        self.closed = True
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.transport is not None:
            self.transport.abort()


class _Pool:
    __slots__ = ("count", "idle", "waiters")

    def __init__(self) -> None:
        self.idle: list[_Connection] = []
        self.count = 0
        self.waiters: deque[asyncio.Future[None]] = deque()

    def wake_one(self) -> None:
        while self.waiters:
            waiter = self.waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class AsyncTransport(TransportBase):
    """Sends :class:`Request` values over keep-alive connections to one origin (asyncio).

    One object may serve several event loops over its life: each loop gets its
    own pool. ``base_url`` must not contain credentials.
    """

    def __init__(
        self,
        base_url: str,
        config: HTTPConfig | None = None,
        default_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(base_url, config, default_headers)
        self._pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Pool] = (
            weakref.WeakKeyDictionary()
        )
        self._pools_lock = threading.Lock()
        self._last: tuple[weakref.ref[asyncio.AbstractEventLoop], _Pool] | None = None
        self._expiry = self.config.keepalive_expiry
        _transports.add(self)

    # pool

    def _pool(self, loop: asyncio.AbstractEventLoop) -> _Pool:
        last = self._last
        if last is not None and last[0]() is loop:
            return last[1]
        with self._pools_lock:  # loops in other threads use the same dictionary
            pool = self._pools.get(loop)
            if pool is None:
                # idle connections keep their loop alive: drop the pools of closed loops
                for old in [old for old in self._pools if old.is_closed()]:
                    for conn in self._pools.pop(old).idle:
                        try:
                            conn.abort()
                        except RuntimeError:  # loop closed: the socket goes with the GC
                            pass
                pool = self._pools[loop] = _Pool()
        self._last = (weakref.ref(loop), pool)
        return pool

    def _take_idle(self, pool: _Pool) -> _Connection | None:
        idle = pool.idle
        while idle:
            conn = idle.pop()
            if not conn.closed and conn.loop.time() - conn.idle_since <= self._expiry:
                conn.reused = True
                return conn
            pool.count -= 1
            conn.abort()
        return None

    async def _acquire(self, pool: _Pool, request: Request) -> _Connection:
        while pool.count >= self.config.max_connections:
            waiter = asyncio.get_running_loop().create_future()
            pool.waiters.append(waiter)
            try:
                async with asyncio.timeout(self.config.connect_timeout):
                    await waiter
            except BaseException as exc:
                if waiter.done() and not waiter.cancelled():
                    pool.wake_one()  # pass the wake-up on
                if isinstance(exc, TimeoutError):
                    where = self._where(request)
                    raise Timeout("no free connection in the pool", **where) from None
                raise
            conn = self._take_idle(pool)
            if conn is not None:
                return conn
        pool.count += 1
        return await self._connect(pool, request)

    async def _connect(self, pool: _Pool, request: Request) -> _Connection:
        """A new connection, in a slot already counted in ``pool``."""
        loop = asyncio.get_running_loop()
        origin, config = self.origin, self.config
        context = config.get_ssl_context() if origin.tls else None
        try:
            async with asyncio.timeout(config.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop),
                    origin.host,
                    origin.port,
                    ssl=context,
                    server_hostname=origin.host if context is not None else None,
                )
        except BaseException as exc:
            pool.count -= 1
            pool.wake_one()
            if isinstance(exc, TimeoutError):
                raise Timeout("timed out connecting", **self._where(request)) from None
            if isinstance(exc, OSError):  # refused, DNS, TLS verification
                raise ConnectError(f"cannot connect: {exc}", **self._where(request)) from exc
            raise
        return conn

    def _release(self, pool: _Pool, conn: _Connection) -> None:
        if conn.closed or not conn.parser.keep_alive:
            self._discard(pool, conn)
            return
        conn.idle_since = conn.loop.time()
        conn.streaming = False
        conn.resume()
        pool.idle.append(conn)
        if pool.waiters:
            pool.wake_one()

    def _discard(self, pool: _Pool, conn: _Connection) -> None:
        conn.abort()
        pool.count -= 1
        if pool.waiters:
            pool.wake_one()

    async def aclose(self) -> None:
        """Close the idle connections of the running loop's pool."""
        pool = self._pools.get(asyncio.get_running_loop())
        if pool is None:
            return
        self._last = None
        idle, pool.idle = pool.idle, []
        pool.count -= len(idle)
        for conn in idle:
            conn.closed = True
            if conn.transport is not None:
                conn.transport.close()

    # requests

    async def send(self, request: Request) -> Response:
        """Send ``request`` and return the response (see :class:`Response`)."""
        pool = self._pool(asyncio.get_running_loop())
        started = self._started()
        head = self._serializer.head(request)
        body = request.body
        replayable = body is None or isinstance(body, _FIXED)
        timeout = request.timeout if request.timeout is not None else self.config.read_timeout
        conn = self._take_idle(pool) or await self._acquire(pool, request)
        owned = True
        try:
            try:
                await self._exchange(conn, request, head, timeout)
            except _Retry:
                owned = False
                self._discard(pool, conn)
                if not replayable:
                    raise ConnectionDropped(
                        "connection closed before a response", **self._where(request)
                    ) from None
                pool.count += 1
                conn = await self._connect(pool, request)
                owned = True
                await self._exchange(conn, request, head, timeout)
        except BaseException:
            if owned:
                self._discard(pool, conn)
            raise
        parser = conn.parser
        if request.stream:
            stream = AsyncStream(self, pool, conn, request, timeout)
            response = Response(
                parser.status, Headers(parser.headers), stream=stream, reason=parser.reason
            )
            if parser.complete and not parser.buffered:
                await stream.aclose()
        else:
            response = Response(
                parser.status, Headers(parser.headers), parser.take(), reason=parser.reason
            )
            self._release(pool, conn)
        if started:
            self._log(request, response.status, started)
        return response

    async def _exchange(
        self, conn: _Connection, request: Request, head: bytes, idle_limit: float | None
    ) -> None:
        parser = conn.parser
        parser.start(request.method == "HEAD")
        conn.streaming = request.stream
        conn.wake_on = _HEAD if request.stream else _COMPLETE
        if conn.closed:
            if conn.reused:
                raise _Retry
            raise ConnectionDropped("connection closed", **self._where(request))
        transport = conn.transport
        assert transport is not None
        body = request.body
        if body is None:
            transport.write(head)
        elif isinstance(body, _FIXED):
            transport.write(head + body)
        else:
            transport.write(head)
            await self._send_chunks(conn, body, request)
        while not parser.complete and not (request.stream and parser.headers_complete):
            if conn.failure is not None:
                exc = conn.failure
                if isinstance(exc, ParseError):
                    raise TransportError(str(exc), **self._where(request))
                if conn.reused and not parser.received:
                    raise _Retry from exc
                raise ConnectionDropped(
                    f"connection lost during the response: {exc}", **self._where(request)
                ) from exc
            await conn.wait(idle_limit)
            if conn.timed_out:
                raise Timeout("timed out waiting for the response", **self._where(request))

    async def _send_chunks(
        self, conn: _Connection, body: Iterable[bytes] | AsyncIterable[bytes], request: Request
    ) -> None:
        transport = conn.transport
        assert transport is not None
        if isinstance(body, AsyncIterable):
            async for chunk in body:
                if chunk:
                    transport.write(encode_chunk(chunk))
                    await self._drain(conn, request)
        else:
            for chunk in body:
                if chunk:
                    transport.write(encode_chunk(chunk))
                    await self._drain(conn, request)
        transport.write(LAST_CHUNK)

    async def _drain(self, conn: _Connection, request: Request) -> None:
        if conn.writing_paused:
            await conn.drain()
        if conn.closed and not conn.parser.complete:
            raise ConnectionDropped("connection lost sending the body", **self._where(request))


class AsyncStream:
    """A response body read from the connection as the caller asks for it."""

    __slots__ = ("_conn", "_pool", "_request", "_timeout", "_transport")

    def __init__(
        self,
        transport: AsyncTransport,
        pool: _Pool,
        conn: _Connection,
        request: Request,
        timeout: float | None,
    ) -> None:
        self._transport = transport
        self._pool = pool
        self._conn: _Connection | None = conn
        self._request = request
        self._timeout = timeout
        conn.wake_on = _DATA

    async def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (everything left for -1); ``b""`` at the end."""
        conn = self._conn
        if conn is None or n == 0:
            return b""
        parser = conn.parser
        if n < 0:
            conn.wake_on = _COMPLETE
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

    async def _wait(self, conn: _Connection) -> None:
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

    def _drop(self, conn: _Connection) -> None:
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
