"""The blocking transport: a thread-safe keep-alive pool of ``socket``/``ssl`` connections."""

from __future__ import annotations

import atexit
import os
import select
import selectors
import socket
import ssl
import struct
import sys
import threading
import time
import weakref
from collections import deque
from collections.abc import Iterable, Sequence
from time import monotonic
from typing import Any

from corduroy.errors import (
    ConnectError,
    ConnectionDropped,
    InvalidInput,
    Timeout,
    TransportError,
)
from corduroy.http.config import HTTPConfig, TransportBase, tag_failure
from corduroy.http.messages import Headers, Request, Response
from corduroy.http.retry import Failure
from corduroy.http.sync_stream import RECV_SIZE as _RECV_SIZE
from corduroy.http.sync_stream import SyncStream
from corduroy.http.wire import (
    LAST_CHUNK,
    IncompleteResponse,
    ParseError,
    ResponseParser,
    encode_chunk,
)

__all__ = ["SyncStream", "SyncTransport"]

_FIXED = (bytes, bytearray, memoryview)

# How an idle connection is checked for an EOF: poll where the system has it, else a selector.
_POLL = hasattr(select, "poll")
_POLLER: Any = select.poll if _POLL else selectors.DefaultSelector
_READ = select.POLLIN | select.POLLPRI if _POLL else selectors.EVENT_READ

_transports: weakref.WeakSet[SyncTransport] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for transport in list(_transports):
        transport._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


@atexit.register
def _close_idle_at_exit() -> None:
    """Close the idle connections left open at exit (a ``Couch`` never closed, the one a
    ``Database("name")`` shares): closed, not left to the garbage collector to warn about."""
    for transport in list(_transports):
        transport.close()


class _Retry(Exception):
    """A reused connection failed before any byte of the response arrived."""


class _Waiter:
    """A thread waiting for a connection: handed one, or the slot of a closed one."""

    __slots__ = ("conn", "event")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.conn: _Connection | None = None


#: plain TCP sockets time out in the kernel (SO_RCVTIMEO/SO_SNDTIMEO) on these systems
_KERNEL_TIMEOUTS = sys.platform.startswith(("linux", "darwin", "freebsd"))


def _timeval(timeout: float | None) -> bytes:
    if not timeout:
        return struct.pack("ll", 0, 0)  # 0: no timeout
    seconds = int(timeout)
    return struct.pack("ll", seconds, max(1, int((timeout - seconds) * 1_000_000)))


class _Connection:
    __slots__ = (
        "generation", "idle_since", "kernel_timeout", "parser", "poller", "reused", "sock",
        "timeout",
    )  # fmt: skip

    def __init__(self, sock: socket.socket, timeout: float | None, generation: int) -> None:
        self.sock = sock
        self.parser = ResponseParser()
        self.idle_since = 0.0
        self.reused = False
        self.generation = generation
        self.poller: Any = None  # made by the first readable() check
        # A socket with a Python-level timeout polls before every send and recv (two
        # extra system calls per request); a blocking socket whose kernel enforces the
        # timeout does not. TLS sockets keep Python's timeouts.
        self.kernel_timeout = _KERNEL_TIMEOUTS and not isinstance(sock, ssl.SSLSocket)
        self.timeout: float | None = -1.0  # force the first set_timeout
        self.set_timeout(timeout)

    def set_timeout(self, timeout: float | None) -> None:
        """Make reads and writes on this connection give up after ``timeout`` seconds."""
        if timeout == self.timeout:
            return
        self.timeout = timeout
        sock = self.sock
        if self.kernel_timeout:
            sock.settimeout(None)
            value = _timeval(timeout)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, value)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)
        else:
            sock.settimeout(timeout)

    def readable(self) -> bool:
        """An idle connection with something to read (EOF, most likely) is unusable.

        ``poll`` (or a selector where there is none) works with any descriptor
        number; ``select.select`` fails past 1023.
        """
        poller = self.poller
        try:
            if poller is None:
                poller = self.poller = _POLLER()
                poller.register(self.sock, _READ)
            if _POLL:
                return bool(poller.poll(0))
            return bool(poller.select(0))
        except (OSError, ValueError):
            return True

    def close(self) -> None:
        if self.poller is not None and not _POLL:
            self.poller.close()
        try:
            self.sock.close()
        except OSError:
            pass


class SyncTransport(TransportBase):
    """Sends :class:`Request` values over keep-alive connections to one origin.

    ``base_url`` is ``http(s)://host[:port][/base/path]``, without credentials.
    ``default_headers`` go out with every request (a request's own header of the
    same name replaces them). Safe to share between threads.
    """

    def __init__(
        self,
        base_url: str,
        config: HTTPConfig | None = None,
        default_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        super().__init__(base_url, config, default_headers)
        self._lock = threading.Lock()
        self._idle: list[_Connection] = []
        self._count = 0
        self._waiters: deque[_Waiter] = deque()
        self._generation = 0
        _transports.add(self)

    # pool

    def _acquire(self, request: Request) -> _Connection:
        """An idle connection, a new one, or (first come, first served) a released one."""
        with self._lock:
            conn = self._take_idle()
            if conn is not None:
                return conn
            waiter = None
            if self._count < self.config.max_connections and not self._waiters:
                self._count += 1
            else:
                waiter = _Waiter()
                self._waiters.append(waiter)
        if waiter is not None:
            waiter.event.wait(self.config.connect_timeout)
            with self._lock:
                if not waiter.event.is_set():
                    self._waiters.remove(waiter)
                    error = Timeout("no free connection in the pool", **self._where(request))
                    raise tag_failure(error, None)
            if waiter.conn is not None:
                return waiter.conn
            # else a connection was discarded and its slot passed on to us
        try:
            return self._connect(request)
        except BaseException:
            self._forget()
            raise

    def _take_idle(self) -> _Connection | None:
        expiry = self.config.keepalive_expiry
        idle = self._idle
        while idle:
            conn = idle.pop()
            if monotonic() - conn.idle_since <= expiry:
                conn.reused = True
                return conn
            self._count -= 1
            conn.close()
        return None

    def _connect(self, request: Request) -> _Connection:
        origin, config = self.origin, self.config
        try:
            sock = socket.create_connection((origin.host, origin.port), config.connect_timeout)
        except TimeoutError:
            error = Timeout("timed out connecting", **self._where(request))
            raise tag_failure(error, Failure.CONNECT) from None
        except OSError as exc:
            raise ConnectError(f"cannot connect: {exc}", **self._where(request)) from exc
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if origin.tls:
                context = config.get_ssl_context()
                sock = context.wrap_socket(sock, server_hostname=origin.host)
        except TimeoutError:
            sock.close()
            error = Timeout("timed out in the TLS handshake", **self._where(request))
            raise tag_failure(error, Failure.CONNECT) from None
        except OSError as exc:  # ssl.SSLError is an OSError
            sock.close()
            raise ConnectError(f"TLS handshake failed: {exc}", **self._where(request)) from exc
        return _Connection(sock, config.connect_timeout, self._generation)

    def _release(self, conn: _Connection) -> None:
        if not conn.parser.keep_alive or conn.generation != self._generation:
            self._discard(conn)
            return
        conn.idle_since = monotonic()
        with self._lock:
            if self._waiters:  # hand it over: a thread that did not wait cannot barge in
                conn.reused = True
                waiter = self._waiters.popleft()
                waiter.conn = conn
                waiter.event.set()
                return
            self._idle.append(conn)

    def _discard(self, conn: _Connection) -> None:
        conn.close()
        if conn.generation == self._generation:
            self._forget()

    def _forget(self) -> None:
        """A connection is gone: its slot goes to the first waiter, if any."""
        with self._lock:
            if self._waiters:
                waiter = self._waiters.popleft()
                waiter.event.set()
            else:
                self._count -= 1

    def close(self) -> None:
        """Close the idle connections (connections in use close when released)."""
        with self._lock:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for conn in idle:
            conn.close()

    def _reset_after_fork(self) -> None:
        for conn in self._idle:
            conn.close()  # the parent keeps its own descriptor
        self._lock = threading.Lock()
        self._idle = []
        self._count = 0
        self._waiters = deque()
        self._generation += 1

    # requests

    def send(self, request: Request) -> Response:
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
                response = self._send_once(request)
            except TransportError as exc:
                if started:
                    self._log_failure(request, exc, started)
                delay = self._retry_failure(policy, request, exc, attempt, first)
                if delay is None:
                    raise
            else:
                if started:
                    self._log(request, response.status, started)
                if not policy.enabled:
                    return response
                delay = self._retry_status(policy, request, response, attempt, first)
                if delay is None:
                    return response
                if response.stream is not None:
                    response.stream.close()
            time.sleep(delay)
            attempt += 1

    def _send_once(self, request: Request) -> Response:
        head = self._serializer.head(request)
        # a write is sent again only if the server cannot have seen it
        retry_stale = request.resendable
        timeout = self._read_timeout(request)
        conn = self._acquire(request)
        owned = True  # conn counts against the pool until discarded
        try:
            while not retry_stale and conn.reused and conn.readable():
                owned = False
                self._discard(conn)  # closed by the server while idle
                conn = self._acquire(request)
                owned = True
            try:
                self._exchange(conn, request, head, timeout)
            except _Retry:
                owned = False
                if not retry_stale:
                    self._discard(conn)
                    raise ConnectionDropped(
                        "connection closed before a response", **self._where(request)
                    ) from None
                conn.close()  # its slot goes to the fresh connection
                self._log_stale(request)
                conn = self._acquire_fresh(request)
                owned = True
                self._exchange(conn, request, head, timeout)
        except BaseException:
            if owned:
                self._discard(conn)
            raise
        parser = conn.parser
        if request.stream:
            stream = SyncStream(self, conn, request)
            response = Response(parser.status, Headers.from_head(parser.raw_head), stream=stream)
            if parser.complete and not parser.buffered:
                stream.close()
        else:
            response = Response(
                parser.status, Headers.from_head(parser.raw_head), parser.take_whole()
            )
            self._release(conn)
        return response

    def _acquire_fresh(self, request: Request) -> _Connection:
        """A new connection in the slot of one just closed."""
        try:
            return self._connect(request)
        except BaseException:
            self._forget()
            raise

    def _exchange(
        self, conn: _Connection, request: Request, head: bytes, timeout: float | None
    ) -> None:
        """Send the request, then read the head (``stream``) or the whole response."""
        sock = conn.sock
        parser = conn.parser
        parser.start(request.method == "HEAD", not request.stream)
        conn.set_timeout(timeout)
        body = request.body
        try:
            if body is None:
                sock.sendall(head)
            elif isinstance(body, _FIXED):
                if len(body) < _RECV_SIZE:
                    sock.sendall(head + body)
                else:
                    sock.sendall(head)
                    sock.sendall(body)
            elif isinstance(body, Iterable):
                sock.sendall(head)
                self._send_chunks(sock, body)
            else:
                raise InvalidInput("the blocking transport cannot send an async iterable body")
        except (TimeoutError, BlockingIOError):  # BlockingIOError: the kernel's timeout
            raise Timeout("timed out sending the request", **self._where(request)) from None
        except OSError as exc:
            if conn.reused:
                raise _Retry from exc
            raise ConnectionDropped(f"cannot send: {exc}", **self._where(request)) from exc
        stream = request.stream
        recv = sock.recv
        feed = parser.feed
        try:
            while not parser.complete and not (stream and parser.headers_complete):
                room = parser.room
                if room is not None:  # a large body: straight into its own buffer
                    got = sock.recv_into(room)
                    if got:
                        parser.advance(got)
                        continue
                else:
                    data = recv(_RECV_SIZE)
                    if data:
                        feed(data)
                        continue
                parser.feed_eof()
        except (TimeoutError, BlockingIOError):
            raise Timeout("timed out waiting for the response", **self._where(request)) from None
        except (OSError, IncompleteResponse) as exc:
            if conn.reused and not parser.received:
                raise _Retry from exc
            raise ConnectionDropped(
                f"connection lost during the response: {exc}", **self._where(request)
            ) from exc
        except ParseError as exc:
            raise TransportError(str(exc), **self._where(request)) from None

    @staticmethod
    def _send_chunks(sock: socket.socket, body: Iterable[bytes]) -> None:
        for chunk in body:
            if chunk:
                sock.sendall(encode_chunk(chunk))
        sock.sendall(LAST_CHUNK)
