"""The two drivers: the only code that carries out what operations yield (ops/io.py).

* :func:`drive_blocking` / :func:`run_blocking`: blocking sockets, ``time``;
* :func:`run_async` / :func:`iterate_async`: the running asyncio event loop.

A response with an error status is thrown into the operation as the matching
:class:`~corduroy.errors.HTTPError`, and a failed read or send as its
:class:`~corduroy.errors.CouchError`, so operations catch expected errors at
the ``yield`` and everything else reaches the caller. :mod:`corduroy.drivers`
picks one of them for each call (the conventions).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections import deque
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import CouchError, HTTPError
from .http.config import call_options
from .http.messages import Request, Response, error_from
from .ops.base import Streamed
from .ops.io import Close, Emit, Job, Now, Read, Send, Sleep, Stopped, Streaming

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["AsyncItems", "drive_blocking", "iterate_async", "run_async", "run_blocking"]

T = TypeVar("T")


class _Trace:
    """Remembers the last response of a run, for the callback's ``Status``."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: Response | None = None


def error_for(request: Request, response: Response, conn: Connection, body: bytes) -> HTTPError:
    """The exception for an error response (``body`` already read)."""
    return error_from(request, response, conn.url_for(request), body)


def _drop(streams: list[Any], body: Any) -> None:
    """Forget a body the operation closed itself (a feed reconnecting for days)."""
    for index, stream in enumerate(streams):
        if stream is body:
            del streams[index]
            return


def _close_all(streams: list[Any]) -> None:
    for stream in streams:
        stream.close()


def _do_blocking(
    instr: Any, conn: Connection, trace: _Trace | None, streams: list[Any], stop: Any
) -> Any:
    """Carry out one instruction other than a plain ``Request`` or ``Emit`` (ops/io.py)."""
    if type(instr) is Send:
        with call_options(retry=instr.retry):
            return _send_blocking(instr.request, conn, trace, streams)
    if type(instr) is Sleep:
        if stop is not None:  # a blocking iterator another thread may close meanwhile
            if stop.wait(instr.seconds):
                raise Stopped
        else:
            time.sleep(instr.seconds)
        return None
    if type(instr) is Now:
        return time.monotonic()
    if type(instr) is Close:
        _drop(streams, instr.body)
        instr.body.close()
        return None
    raise TypeError(f"an operation yielded {instr!r}, which is no instruction")


def _send_blocking(
    request: Request, conn: Connection, trace: _Trace | None, streams: list[Any]
) -> Response:
    response = conn.send(request)
    if trace is not None:
        trace.last = response
    if response.stream is not None:
        if response.status >= 400:
            raise error_for(request, response, conn, response.stream.read())
        streams.append(response.stream)
    elif response.status >= 400:
        raise error_for(request, response, conn, response.body)
    return response


def drive_blocking(
    op: Job[T],
    conn: Connection,
    trace: _Trace | None = None,
    stop: Any = None,
    streams: list[Any] | None = None,
) -> Generator[Any, None, T]:
    """Run ``op`` with blocking I/O; yields the items it emits and returns its result.

    ``stop`` (a ``threading.Event``) ends the run from another thread: it is
    seen while sleeping and after each instruction, and thrown in as
    :class:`~corduroy.ops.io.Stopped`. ``streams``: bodies ``op`` reads that it
    got from elsewhere, closed with the ones it gets if it does not return.
    """
    streams = [] if streams is None else streams
    returned = False
    try:
        instr = next(op)
        while True:
            failure: BaseException | None = None
            value: Any = None
            try:
                if type(instr) is Request:  # the common case first
                    value = _send_blocking(instr, conn, trace, streams)
                elif type(instr) is Read:
                    value = instr.body.read(instr.size)  # ``wait`` is not honoured: bytes come
                elif type(instr) is Emit:
                    yield from instr.items
                else:
                    value = _do_blocking(instr, conn, trace, streams, stop)
            except (CouchError, Stopped) as exc:
                failure = exc
            if stop is not None and stop.is_set():
                stop = None  # thrown in once: the operation may clean up, then ends
                if failure is None:
                    failure = Stopped()
            if failure is not None:
                instr = op.throw(failure)
            else:
                instr = op.send(value)
    except StopIteration as end:
        returned = True
        result: T = end.value
        if isinstance(result, Streamed):
            finished: T = result.finish_sync()
            return finished
        if isinstance(result, Streaming):
            rest: T = result.blocking(drive_blocking(result.rest, conn, streams=[result.body]))
            return rest
        return result
    except Stopped:
        returned = False
        return None  # type: ignore[return-value]
    finally:
        op.close()
        if not returned:
            _close_all(streams)


def run_blocking(op: Job[T], conn: Connection, trace: _Trace | None = None) -> T:
    """Run ``op`` to completion with blocking I/O and return its result."""
    run = drive_blocking(op, conn, trace)
    try:
        next(run)
    except StopIteration as end:
        result: T = end.value
        return result
    run.close()
    raise TypeError("this operation hands out items: iterate over it instead")


async def _send_async(
    request: Request, conn: Connection, trace: _Trace | None, streams: list[Any]
) -> Response:
    response = await conn.send_async(request)
    if trace is not None:
        trace.last = response
    if response.status >= 400 or response.stream is not None:
        return await _checked_async(request, response, conn, streams)
    return response


async def _checked_async(
    request: Request, response: Response, conn: Connection, streams: list[Any]
) -> Response:
    """``response``, its body to close noted in ``streams``; an error status raised."""
    if response.stream is not None:
        if response.status >= 400:
            raise error_for(request, response, conn, await response.stream.read())
        streams.append(response.stream)
    elif response.status >= 400:
        raise error_for(request, response, conn, response.body)
    return response


class _AsyncIO:
    """What ``run_async`` needs besides requests: reads that may time out, and their tasks."""

    __slots__ = ("pending", "streams")

    def __init__(self) -> None:
        self.streams: list[Any] = []
        self.pending: dict[Any, asyncio.Future[bytes]] = {}

    async def do(self, instr: Any, conn: Connection, trace: _Trace | None) -> Any:
        if type(instr) is Read:
            return await self.read(instr)
        if type(instr) is Send:
            with call_options(retry=instr.retry):
                return await _send_async(instr.request, conn, trace, self.streams)
        if type(instr) is Sleep:
            await asyncio.sleep(instr.seconds)
            return None
        if type(instr) is Now:
            return time.monotonic()
        if type(instr) is Close:
            self.forget(instr.body)
            _drop(self.streams, instr.body)
            await instr.body.aclose()
            return None
        raise TypeError(f"an operation yielded {instr!r}, which is no instruction")

    async def read(self, instr: Read) -> bytes | None:
        body = instr.body
        reading = self.pending.pop(body, None)
        if instr.wait is None:
            return await (reading if reading is not None else body.read(instr.size))
        if reading is None:
            reading = asyncio.ensure_future(body.read(instr.size))
        done, _ = await asyncio.wait((reading,), timeout=max(instr.wait, 0))
        if not done:
            self.pending[body] = reading  # the next Read of this body takes its bytes
            return None
        return reading.result()

    def forget(self, body: Any) -> None:
        reading = self.pending.pop(body, None)
        if reading is not None:
            reading.cancel()

    async def close(self, everything: bool) -> None:
        for reading in self.pending.values():
            reading.cancel()
        self.pending.clear()
        if everything:
            for stream in self.streams:
                await stream.aclose()


async def run_async(
    op: Job[T],
    conn: Connection,
    trace: _Trace | None = None,
    first: Any = None,
    emit: Callable[[list[Any]], Any] | None = None,
    streams: list[Any] | None = None,
) -> T:
    """Run ``op`` to completion on the running event loop and return its result.

    ``first`` is the operation's first request when the caller already took it
    (the callback convention does, to build the ``RequestReplica``). ``emit``
    receives what the operation emits (it may return an awaitable, which is
    awaited; what it raises is thrown into the operation). With ``emit``,
    cancelling the run throws :class:`~corduroy.ops.io.Stopped` into the
    operation, which may still clean up before the cancellation goes on.
    """
    io: _AsyncIO | None = None
    streams = [] if streams is None else streams
    returned = False
    cancelled: asyncio.CancelledError | None = None
    try:
        instr = first if first is not None else next(op)
        while True:
            failure: BaseException | None = None
            value: Any = None
            try:
                if type(instr) is Request:  # the common case first, without a coroutine of its own
                    value = await conn.send_async(instr)
                    if trace is not None:
                        trace.last = value
                    if value.status >= 400 or value.stream is not None:
                        value = await _checked_async(instr, value, conn, streams)
                elif type(instr) is Read and instr.wait is None and (io is None or not io.pending):
                    value = await instr.body.read(instr.size)  # the common read: no timer
                elif type(instr) is Emit:
                    if emit is None:
                        raise TypeError("this operation hands out items: use async for")
                    try:
                        delivered = emit(instr.items)
                        if delivered is not None and inspect.isawaitable(delivered):
                            await delivered
                    except Exception as exc:  # the consumer's: the operation decides
                        failure = exc
                else:
                    if io is None:
                        io = _AsyncIO()
                        io.streams = streams
                    value = await io.do(instr, conn, trace)
            except CouchError as exc:
                failure = exc
            except asyncio.CancelledError as exc:
                if emit is None or cancelled is not None:
                    raise
                cancelled, failure = exc, Stopped()
            if failure is not None:
                instr = op.throw(failure)
            else:
                instr = op.send(value)
    except StopIteration as end:
        returned = True
        if cancelled is not None:
            raise cancelled from None
        result: T = end.value
        if isinstance(result, Streamed):
            finished: T = await result.finish_async()
            return finished
        if isinstance(result, Streaming):
            rest: T = result.awaited(iterate_async(result.rest, conn, [result.body]))
            return rest
        return result
    except Stopped:
        if cancelled is not None:
            raise cancelled from None
        raise
    finally:
        op.close()
        if io is not None:
            await io.close(not returned)
        elif not returned:
            for stream in streams:
                await stream.aclose()


class AsyncItems:
    """``async for`` over the items an operation emits (:func:`iterate_async`).

    The asyncio driver in the shape of an async iterator: each ``__anext__``
    runs the operation in the caller's task up to its next ``Emit``, so it
    never runs ahead of the loop. The instructions are carried out as by
    :func:`run_async`. ``aclose()`` stops it and closes its bodies.
    """

    __slots__ = ("_conn", "_done", "_io", "_items", "_op", "_started")

    def __init__(self, op: Job[Any], conn: Connection, streams: list[Any] | None) -> None:
        self._op = op
        self._conn = conn
        self._io = _AsyncIO()
        if streams is not None:
            self._io.streams = streams
        self._items: deque[Any] = deque()
        self._started = False
        self._done = False

    def __aiter__(self) -> AsyncItems:
        return self

    async def __anext__(self) -> Any:
        items = self._items
        if items:
            return items.popleft()
        if self._done:
            raise StopAsyncIteration
        op, conn, io = self._op, self._conn, self._io
        try:
            if self._started:
                instr = op.send(None)  # the last Emit was taken
            else:
                self._started = True
                instr = next(op)
            while True:
                if type(instr) is Emit:
                    if instr.items:
                        items.extend(instr.items)
                        return items.popleft()
                    instr = op.send(None)
                    continue
                failure: BaseException | None = None
                value: Any = None
                try:
                    if type(instr) is Request:
                        value = await _send_async(instr, conn, None, io.streams)
                    elif type(instr) is Read and instr.wait is None and not io.pending:
                        value = await instr.body.read(instr.size)
                    else:
                        value = await io.do(instr, conn, None)
                except CouchError as exc:
                    failure = exc
                if failure is not None:
                    instr = op.throw(failure)
                else:
                    instr = op.send(value)
        except StopIteration:
            self._done = True
            await io.close(False)
            raise StopAsyncIteration from None
        except BaseException:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        """Stop the operation and close the bodies it holds."""
        self._done = True
        self._items.clear()
        self._op.close()
        await self._io.close(True)
        self._io.streams = []


def iterate_async(op: Job[Any], conn: Connection, streams: list[Any] | None = None) -> AsyncItems:
    """The items ``op`` emits, for ``async for``; its errors are raised there."""
    return AsyncItems(op, conn, streams)
