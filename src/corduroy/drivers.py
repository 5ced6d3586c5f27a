"""The drivers: the only code that runs operations against a server.

* :func:`run_blocking` sends each request with the blocking transport.
* :func:`run_async` awaits each request on the running event loop.
* :func:`dispatch` picks the convention of one call (docs/conventions.md):
  a ``callback`` starts the operation on the calling thread's event loop and
  returns a :class:`RequestReplica`; no callback inside a running loop returns an
  awaitable; otherwise the call blocks and returns the result.

A response with an error status is thrown into the operation as the matching
:class:`~corduroy.errors.HTTPError`, so operations catch expected errors at the
``yield`` and everything else reaches the caller.
"""

from __future__ import annotations

import asyncio
import inspect
import sys
import time
import warnings
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import Conflict, CouchError, HTTPError
from .http.config import call_options
from .http.messages import Headers, Request, Response, error_from
from .ops.base import Op, Streamed
from .ops.io import Close, Emit, Job, Now, Read, Send, Sleep, Stopped
from .pending_calls import WAITING_FOR_LOOP, public_call
from .status import Status

if TYPE_CHECKING:
    from .connection import Connection

__all__ = [
    "Callback",
    "RequestReplica",
    "Streamed",
    "dispatch",
    "drive_blocking",
    "in_running_loop",
    "run_async",
    "run_blocking",
]

T = TypeVar("T")

#: ``callback(data, status)``
Callback = Callable[[Any, Status], Any]

class _Trace:
    """Remembers the last response of a run, for the callback's ``Status``."""

    __slots__ = ("last",)

    def __init__(self) -> None:
        self.last: Response | None = None


def error_for(request: Request, response: Response, conn: Connection, body: bytes) -> HTTPError:
    """The exception for an error response (``body`` already read)."""
    return error_from(request, response, conn.url_for(request), body)


def _close_all(streams: list[Any]) -> None:
    for stream in streams:
        stream.close()


def _do_blocking(
    instr: Any, conn: Connection, trace: _Trace | None, streams: list[Any], stop: Any
) -> Any:
    """Carry out one instruction other than a plain ``Request`` or ``Emit`` (ops/io.py)."""
    if type(instr) is Read:
        return instr.body.read(instr.size)  # ``wait`` is not honoured: bytes come, or the end
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
    op: Job[T], conn: Connection, trace: _Trace | None = None, stop: Any = None
) -> Generator[Any, None, T]:
    """Run ``op`` with blocking I/O; yields the items it emits and returns its result.

    ``stop`` (a ``threading.Event``) ends the run from another thread: it is
    seen while sleeping and after each instruction, and thrown in as
    :class:`~corduroy.ops.io.Stopped`.
    """
    streams: list[Any] = []
    returned = False
    try:
        instr = next(op)
        while True:
            failure: BaseException | None = None
            value: Any = None
            try:
                if type(instr) is Request:  # the common case first
                    value = _send_blocking(instr, conn, trace, streams)
                elif type(instr) is Emit:
                    yield from instr.items
                else:
                    value = _do_blocking(instr, conn, trace, streams, stop)
            except (CouchError, Stopped) as exc:
                failure = exc
            if stop is not None and failure is None and stop.is_set():
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
    first: Request | None = None,
    emit: Callable[[list[Any]], Any] | None = None,
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
    streams: list[Any] = []
    returned = False
    cancelled: asyncio.CancelledError | None = None
    try:
        instr = first if first is not None else next(op)
        while True:
            failure: BaseException | None = None
            value: Any = None
            try:
                if type(instr) is Request:  # the common case first
                    value = await _send_async(instr, conn, trace, streams)
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


def in_running_loop() -> bool:
    """True when the calling thread is running an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def blocking_only(what: str) -> None:
    """Refuse a blocking-only form (``len(db)``, ``name in couch``...) inside a running loop."""
    if in_running_loop():
        raise RuntimeError(
            f"{what} would block the running event loop; "
            "use the method form with await (e.g. await db.get(id))"
        )


def _callback_loop() -> asyncio.AbstractEventLoop:
    """The event loop of the calling thread, running or about to run."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    ioloop_module = sys.modules.get("tornado.ioloop")
    if ioloop_module is not None:
        current = ioloop_module.IOLoop.current(instance=False)
        if current is not None:
            loop: asyncio.AbstractEventLoop = current.asyncio_loop
            return loop
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            return asyncio.get_event_loop_policy().get_event_loop()
        except RuntimeError:
            raise RuntimeError(
                "callback= needs an event loop on the calling thread; this thread has none "
                "(create one, or call without callback to block)"
            ) from None


_REDACTED_HEADERS = frozenset({"authorization", "cookie", "x-auth-couchdb-token"})


def _secret_body(request: Request) -> bool:
    """Does the body carry a password (a user doc, a login, an admin's config entry)?"""
    body = request.body
    return isinstance(body, bytes) and (
        b'"password"' in body or "/_config/admins/" in request.path
    )


class RequestReplica:
    """A copy of the first HTTP request of a call made with ``callback=``.

    Returned at once by such calls, for debugging: ``method``, ``url`` (no
    credentials), ``headers`` (secrets redacted) and ``body``. Awaiting it waits
    until the callback has run, which keeps e.g. a Tornado handler open:
    ``return db.get(id, callback=self.done)``.
    """

    __slots__ = ("_conn", "_done", "_request", "method")

    def __init__(
        self, request: Request | None, conn: Connection, done: asyncio.Future[None]
    ) -> None:
        if request is None:  # the call was answered without a request (e.g. ``get([])``)
            request = Request("", "")
        self.method = request.method
        self._request = request  # url, headers and body are made when first read
        self._conn = conn
        self._done = done

    @property
    def url(self) -> str:
        """The request's url, without credentials."""
        return self._conn.url_for(self._request)

    @property
    def headers(self) -> Headers:
        """The request's own headers, with credentials redacted."""
        return Headers(
            (name, "<redacted>" if name.lower() in _REDACTED_HEADERS else value)
            for name, value in self._request.headers
        )

    @property
    def body(self) -> bytes | None:
        """The request body (``None`` if streamed), ``b"<redacted>"`` if it holds a password."""
        body = self._request.body
        if not isinstance(body, bytes):
            return None
        return b"<redacted>" if _secret_body(self._request) else body

    @property
    def done(self) -> bool:
        """True once the callback has run."""
        return self._done.done()

    def __await__(self) -> Generator[Any, None, None]:
        return self._done.__await__()

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


async def _finished(result: Any) -> Any:
    if isinstance(result, Streamed):
        return await result.finish_async()
    return result


#: callback calls in flight
_CALLBACK_TASKS: set[asyncio.Task[None]] = set()

#: how far up the stack the public method is, seen from dispatch (public -> _run -> dispatch)
_PUBLIC_DEPTH = 2


def _start_callback(
    op: Op[Any], conn: Connection, callback: Callback, depth: int = _PUBLIC_DEPTH
) -> RequestReplica:
    loop = _callback_loop()
    trace = _Trace()
    first: Request | None
    try:
        first = next(op)  # pure: builds the request, may refuse bad input before any I/O
    except StopIteration as stop:  # no request needed: still deliver through the callback
        first, result = None, _finished(stop.value)
    else:
        result = run_async(op, conn, trace, first)
    done: asyncio.Future[None] = loop.create_future()
    waiting = not loop.is_running()

    def deliver(data: Any, status: Status) -> None:
        try:
            callback(data, status)
        except Exception as exc:  # the user's callback failed: report it like asyncio does
            loop.call_exception_handler(
                {"message": f"exception in corduroy callback {callback!r}", "exception": exc}
            )
        finally:
            if not done.done():
                done.set_result(None)

    async def run_then_deliver() -> None:
        # The callback runs at the end of the task itself rather than from a done
        # callback: one trip round the event loop less per call.
        if waiting:
            WAITING_FOR_LOOP.pop(task, None)
        try:
            data = await result
        except asyncio.CancelledError as exc:
            deliver(None, Status.failure(exc, trace.last))
            raise
        except Exception as exc:
            # data is None on failure (the server's answer is status.body), except a
            # conflicted save, whose data is its ConflictResolution
            data = exc.resolution if isinstance(exc, Conflict) else None
            deliver(data, Status.failure(exc, trace.last))
        else:
            deliver(data, Status.success(trace.last))

    task = loop.create_task(run_then_deliver())
    _CALLBACK_TASKS.add(task)  # the loop keeps only weak references to tasks
    task.add_done_callback(_CALLBACK_TASKS.discard)
    if waiting:  # it runs when the loop starts; if it never does, say so at exit
        WAITING_FOR_LOOP[task] = (public_call(depth + 1, True), result)
    return RequestReplica(first, conn, done)


def dispatch(
    op: Job[T], conn: Connection, callback: Callback | None = None, depth: int = _PUBLIC_DEPTH
) -> Any:
    """Run ``op`` in the convention the call asks for (see the module docstring).

    ``depth``: how far up the stack the public method is (for messages naming it).
    """
    if callback is not None:
        return _start_callback(op, conn, callback, depth)
    if in_running_loop():
        coro: Any = run_async(op, conn)
        # a forgotten await is reported by Python under this name: the public call's
        coro.__qualname__ = coro.__name__ = public_call(depth, False)
        return coro
    return run_blocking(op, conn)
