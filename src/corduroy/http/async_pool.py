"""The asyncio transport: an ``asyncio.Protocol`` per connection, a keep-alive pool per loop."""

from __future__ import annotations

import asyncio
import os
import threading
import weakref
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from time import monotonic

from corduroy.errors import ConnectError, ConnectionDropped, Timeout, TransportError
from corduroy.http.async_conn import COMPLETE, HEAD, Connection, StaleConnection
from corduroy.http.async_stream import AsyncStream
from corduroy.http.config import HTTPConfig, TransportBase, tag_failure
from corduroy.http.messages import Headers, Request, Response
from corduroy.http.retry import Failure
from corduroy.http.wire import LAST_CHUNK, ParseError, encode_chunk

__all__ = ["AsyncStream", "AsyncTransport", "close_idle_connections"]

_FIXED = (bytes, bytearray, memoryview)

_transports: weakref.WeakSet[AsyncTransport] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for transport in list(_transports):
        transport._pools = weakref.WeakKeyDictionary()  # the parent's loops are not ours
        transport._last = None
        transport._pools_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


async def close_idle_connections() -> None:
    """Close every idle pooled connection of the running event loop, of every transport.

    Not needed under ``asyncio.run`` (a loop's pools close when it shuts down
    its async generators); ``Couch.close()``/``aclose()`` close one client's.
    """
    for transport in list(_transports):
        await transport.aclose()


def _close_idle(pool: _Pool) -> None:
    """Close ``pool``'s idle connections (on the pool's own loop's thread)."""
    idle, pool.idle = pool.idle, []
    pool.count -= len(idle)
    for conn in idle:
        conn.closed = True
        if conn.transport is not None:
            conn.transport.close()


async def _watch_loop(pool: _Pool) -> AsyncIterator[None]:
    """Closes ``pool`` when its loop shuts down its async generators.

    ``asyncio.run`` (and every loop closed the documented way) calls
    ``loop.shutdown_asyncgens()`` while the loop still runs: the one place where
    its sockets can still be closed cleanly, without a ResourceWarning.
    """
    try:
        yield
    finally:
        pool.watch = None  # it holds the loop (its finalizer hook): let both go
        _close_idle(pool)


def _close_pool(loop: asyncio.AbstractEventLoop, pool: _Pool) -> None:
    """Close ``pool`` (of ``loop``) from any thread."""
    if loop.is_closed():  # too late for a clean close: drop the sockets
        for conn in pool.idle:
            try:
                conn.abort()
            except RuntimeError:  # the socket goes with the garbage collector
                pass
        pool.idle = []
        return
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if running is loop or not loop.is_running():
        _close_idle(pool)
    else:
        loop.call_soon_threadsafe(_close_idle, pool)


class _Pool:
    __slots__ = ("count", "deadlines", "idle", "timer", "waiters", "watch")

    def __init__(self) -> None:
        self.watch: AsyncIterator[None] | None = None
        self.idle: list[Connection] = []
        self.count = 0
        # first come, first served: handed a released connection, or None for a free slot
        self.waiters: deque[asyncio.Future[Connection | None]] = deque()
        # when each waiter gives up (in the same order: one timeout for all, so rising)
        self.deadlines: deque[float] = deque()
        #: one timer for the whole queue, at (or before) the first waiter's deadline
        self.timer: asyncio.TimerHandle | None = None

    def wait(
        self, loop: asyncio.AbstractEventLoop, limit: float | None
    ) -> asyncio.Future[Connection | None]:
        """Queue for a connection; the future fails with ``TimeoutError`` after ``limit`` s.

        A plain future and a single timer for the queue (re-armed only when it
        fires) instead of a timer per wait: with more tasks than connections
        this is on every request's path.
        """
        waiter: asyncio.Future[Connection | None] = loop.create_future()
        self.waiters.append(waiter)
        self.deadlines.append(loop.time() + limit if limit is not None else float("inf"))
        if self.timer is None and limit is not None:
            self.timer = loop.call_at(self.deadlines[0], self._expire, loop)
        return waiter

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self.timer = None
        now = loop.time()
        waiters, deadlines = self.waiters, self.deadlines
        while waiters and (deadlines[0] <= now or waiters[0].done()):
            waiter = waiters.popleft()
            deadlines.popleft()
            if not waiter.done():
                waiter.set_exception(TimeoutError())
        if waiters and deadlines[0] != float("inf"):
            self.timer = loop.call_at(deadlines[0], self._expire, loop)

    def hand_over(self, conn: Connection | None) -> bool:
        """Give ``conn`` (or a free slot) to the first waiter; False if none waits."""
        while self.waiters:
            waiter = self.waiters.popleft()
            self.deadlines.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    def free_slot(self) -> None:
        """A connection is gone: its slot goes to the first waiter, if any."""
        if not self.hand_over(None):
            self.count -= 1


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
                    _close_pool(old, self._pools.pop(old))
                pool = self._pools[loop] = _Pool()
                pool.watch = watch = _watch_loop(pool)
                try:  # its first step registers it with the running loop (asyncgen hooks)
                    watch.asend(None).send(None)  # type: ignore[attr-defined]
                except StopIteration:
                    pass
        self._last = (weakref.ref(loop), pool)
        return pool

    def _take_idle(self, pool: _Pool) -> Connection | None:
        idle = pool.idle
        while idle:
            conn = idle.pop()
            if not conn.closed and monotonic() - conn.idle_since <= self._expiry:
                conn.reused = True
                return conn
            pool.count -= 1
            conn.abort()
        return None

    async def _acquire(self, pool: _Pool, request: Request) -> Connection:
        if pool.count < self.config.max_connections and not pool.waiters:
            pool.count += 1
            return await self._connect(pool, request)
        waiter = pool.wait(asyncio.get_running_loop(), self.config.connect_timeout)
        try:
            conn = await waiter
        except BaseException as exc:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()  # handed something, then cancelled: pass it on
                if handed is not None:
                    self._release(pool, handed)
                else:
                    pool.free_slot()
            if isinstance(exc, TimeoutError):
                error = Timeout("no free connection in the pool", **self._where(request))
                raise tag_failure(error, None) from None
            raise
        if conn is not None:
            conn.reused = True
            return conn
        return await self._connect(pool, request)  # in the slot passed on to us

    async def _connect(self, pool: _Pool, request: Request) -> Connection:
        """A new connection, in a slot already counted in ``pool``."""
        loop = asyncio.get_running_loop()
        origin, config = self.origin, self.config
        context = config.get_ssl_context() if origin.tls else None
        try:
            async with asyncio.timeout(config.connect_timeout):
                _, conn = await loop.create_connection(
                    lambda: Connection(loop),
                    origin.host,
                    origin.port,
                    ssl=context,
                    server_hostname=origin.host if context is not None else None,
                )
        except BaseException as exc:
            pool.free_slot()
            if isinstance(exc, TimeoutError):
                error = Timeout("timed out connecting", **self._where(request))
                raise tag_failure(error, Failure.CONNECT) from None
            if isinstance(exc, OSError):  # refused, DNS, TLS verification
                raise ConnectError(f"cannot connect: {exc}", **self._where(request)) from exc
            raise
        return conn

    def _release(self, pool: _Pool, conn: Connection) -> None:
        if conn.closed or not conn.parser.keep_alive:
            self._discard(pool, conn)
            return
        conn.idle_since = monotonic()
        conn.streaming = False
        if conn.reading_paused:
            conn.resume()
        if not (pool.waiters and pool.hand_over(conn)):
            pool.idle.append(conn)

    def _discard(self, pool: _Pool, conn: Connection) -> None:
        conn.abort()
        pool.free_slot()

    def close(self) -> None:
        """Close the idle connections of every loop's pool (from any thread)."""
        with self._pools_lock:
            pools = list(self._pools.items())
        for loop, pool in pools:
            _close_pool(loop, pool)

    async def aclose(self) -> None:
        """Close the idle connections of every loop's pool; the running loop's at once."""
        self.close()
        await asyncio.sleep(0)  # the transports' connection_lost closes their sockets

    # requests

    async def send(self, request: Request) -> Response:
        """Send ``request`` and return the response (see :class:`Response`).

        Failures and 429/502/503/504 answers are retried as the retry policy
        (``config.retry``, or a ``call_options`` override) allows.
        """
        policy = self._policy()
        attempt = 1
        first = monotonic()
        while True:
            started = self._started()
            try:
                response = await self._send_once(request)
            except TransportError as exc:
                if started:
                    self._log_failure(request, exc, started)
                delay = self._retry_failure(policy, request, exc, attempt, first)
                if delay is None:
                    raise
            else:
                if started:
                    self._log(request, response.status, started)
                status = response.status
                if status not in policy.statuses and status not in policy.write_statuses:
                    return response  # the usual case, first
                if not policy.enabled:
                    return response
                delay = self._retry_status(policy, request, response, attempt, first)
                if delay is None:
                    return response
                if response.stream is not None:
                    await response.stream.aclose()
            await asyncio.sleep(delay)
            attempt += 1

    async def _send_once(self, request: Request) -> Response:
        pool = self._pool(asyncio.get_running_loop())
        head = self._serializer.head(request)
        timeout = self._read_timeout(request)
        conn = self._take_idle(pool) or await self._acquire(pool, request)
        parser = conn.parser
        owned = True  # conn counts against the pool until discarded
        try:
            while True:  # once more, on a fresh connection, if a reused one was stale
                try:
                    chunks = self._write(conn, request, head)
                    if chunks is not None:
                        await self._send_chunks(conn, chunks, request, timeout)
                    while not parser.complete and not (request.stream and parser.headers_complete):
                        if conn.failure is not None:
                            raise self._failure(conn, request)
                        await conn.wait(timeout)
                        if conn.timed_out:
                            raise Timeout(
                                "timed out waiting for the response", **self._where(request)
                            )
                    break
                except StaleConnection as stale:
                    # a write is sent again only if the server cannot have seen it
                    if stale.sent and not request.resendable:
                        raise ConnectionDropped(
                            "connection closed before a response", **self._where(request)
                        ) from None
                    conn.abort()  # its slot goes to the fresh connection
                    owned = False
                    self._log_stale(request)
                    conn = await self._connect(pool, request)
                    parser, owned = conn.parser, True
        except BaseException:
            if owned:
                self._discard(pool, conn)
            raise
        if request.stream:
            stream = AsyncStream(self, pool, conn, request, timeout)
            response = Response(parser.status, Headers.from_head(parser.raw_head), stream=stream)
            if parser.complete and not parser.buffered:
                await stream.aclose()
        else:
            response = Response(
                parser.status, Headers.from_head(parser.raw_head), parser.take_whole()
            )
            self._release(pool, conn)
        return response

    def _write(
        self, conn: Connection, request: Request, head: bytes
    ) -> Iterable[bytes] | AsyncIterable[bytes] | None:
        """Send the request but a body of chunks, returned (for ``_send_chunks``)."""
        conn.parser.start(request.method == "HEAD", not request.stream)
        conn.streaming = request.stream
        conn.wake_on = HEAD if request.stream else COMPLETE
        if conn.closed:
            if conn.reused:
                raise StaleConnection(sent=False)
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
            return body
        return None

    def _failure(self, conn: Connection, request: Request) -> Exception:
        """What to raise for a connection that failed before the response was complete."""
        exc = conn.failure
        assert exc is not None
        if isinstance(exc, ParseError):
            return TransportError(str(exc), **self._where(request))
        if conn.reused and not conn.parser.received:
            return StaleConnection()
        error = ConnectionDropped(
            f"connection lost during the response: {exc}", **self._where(request)
        )
        error.__cause__ = exc
        return error

    async def _send_chunks(
        self,
        conn: Connection,
        body: Iterable[bytes] | AsyncIterable[bytes],
        request: Request,
        idle_limit: float | None,
    ) -> None:
        transport = conn.transport
        assert transport is not None
        if isinstance(body, AsyncIterable):
            async for chunk in body:
                if chunk:
                    transport.write(encode_chunk(chunk))
                    await self._drain(conn, request, idle_limit)
        else:
            for chunk in body:
                if chunk:
                    transport.write(encode_chunk(chunk))
                    await self._drain(conn, request, idle_limit)
        transport.write(LAST_CHUNK)

    async def _drain(self, conn: Connection, request: Request, idle_limit: float | None) -> None:
        if conn.writing_paused:
            try:
                async with asyncio.timeout(idle_limit):  # a server that stopped reading
                    await conn.drain()
            except TimeoutError:
                raise Timeout("timed out sending the body", **self._where(request)) from None
        if conn.closed and not conn.parser.complete:
            raise ConnectionDropped("connection lost sending the body", **self._where(request))
