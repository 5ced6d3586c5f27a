"""One asyncio connection of the asyncio transport: protocol callbacks and waiting.

A :class:`Connection` feeds what arrives to its :class:`ResponseParser` and wakes
the task waiting on it when the message (or its head, or any body bytes) is
there; :meth:`Connection.wait` also wakes it after ``idle_limit`` seconds
without a byte (the read timeout), with a single timer per connection.

It is a ``BufferedProtocol``: the event loop receives into the connection's own
buffer (or straight into a large body's buffer, ``parser.room``). A plain
``Protocol`` is handed a new ``bytes`` per read, which asyncio allocates at
256 KiB and shrinks: three system calls (mmap, mremap, munmap) per response.
"""

from __future__ import annotations

import asyncio

from corduroy.http.wire import IncompleteResponse, ParseError, ResponseParser

__all__ = ["COMPLETE", "DATA", "HEAD", "HIGH", "LOW", "Connection", "StaleConnection"]

#: a streamed body pauses reading above HIGH buffered bytes, resumes below LOW
HIGH, LOW = 256 * 1024, 64 * 1024
#: the size of a connection's receive buffer
RECV_SIZE = 64 * 1024
# what wakes a waiting request: the whole message, the head, any body bytes
COMPLETE, HEAD, DATA = 0, 1, 2


class StaleConnection(Exception):
    """A reused connection failed before any byte of the response arrived.

    ``sent``: whether the request was written to it first (else the server
    cannot have seen it).
    """

    def __init__(self, sent: bool = True) -> None:
        super().__init__("stale connection")
        self.sent = sent


class Connection(asyncio.BufferedProtocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = ResponseParser()
        self.buffer = memoryview(bytearray(RECV_SIZE))
        self.direct = False  # the last get_buffer handed out parser.room
        self.waiter: asyncio.Future[None] | None = None
        self.wake_on = COMPLETE
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

    def get_buffer(self, sizehint: int) -> memoryview:
        room = self.parser.room
        self.direct = room is not None
        return room if room is not None else self.buffer

    def buffer_updated(self, nbytes: int) -> None:
        parser = self.parser
        try:
            if self.direct:
                parser.advance(nbytes)
            else:
                parser.feed(self.buffer[:nbytes])
        except ParseError as exc:
            self.failure = exc
            self.abort()
            self._wake()
            return
        if self.streaming and parser.buffered > HIGH and not self.reading_paused:
            self.reading_paused = True
            self.transport.pause_reading()  # type: ignore[union-attr]
        if self.waiter is not None:
            wake_on = self.wake_on
            if (
                parser.complete
                or (wake_on == HEAD and parser.headers_complete)
                or (wake_on == DATA and parser.buffered)
            ):
                self._wake()
                return
        if self.idle_limit is not None:  # still waiting: the read timeout starts again
            self.last_activity = self.loop.time()

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
            self.idle_limit = None
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

    def wait(self, idle_limit: float | None) -> asyncio.Future[None]:
        """A future the protocol resolves when woken, or after ``idle_limit`` s without
        any data (then ``timed_out`` is set)."""
        loop = self.loop
        waiter = self.waiter = loop.create_future()
        if idle_limit is None:
            self.idle_limit = None
            return waiter
        now = self.last_activity = loop.time()
        self.idle_limit = idle_limit
        timer = self.timer
        if timer is None:
            self._arm(now + idle_limit)
        elif self.timer_at > now + idle_limit:
            timer.cancel()
            self._arm(now + idle_limit)
        return waiter

    async def drain(self) -> None:
        while self.writing_paused and not self.closed:
            self.drain_waiter = self.loop.create_future()
            await self.drain_waiter

    def resume(self) -> None:
        if self.reading_paused and (self.parser.buffered < LOW or not self.streaming):
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
