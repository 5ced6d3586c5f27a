"""The conventions: which driver runs a call, and callback delivery on top of asyncio.

* :func:`run_blocking` and :func:`run_async` (in :mod:`corduroy.driver_core`,
  re-exported here) carry out every instruction an operation yields.
* :func:`dispatch` picks the convention of one call (docs/conventions.md):
  a ``callback`` starts the operation on the calling thread's event loop and
  returns a :class:`RequestReplica`; no callback inside a running loop returns an
  awaitable; otherwise the call blocks and returns the result.

"""

from __future__ import annotations

import asyncio
import enum
import sys
import warnings
from collections.abc import Callable, Generator
from typing import TYPE_CHECKING, Any, TypeVar

from .driver_core import (
    _Trace,
    drive_blocking,
    error_for,
    iterate_async,
    run_async,
    run_blocking,
)
from .errors import Conflict
from .http.messages import Headers, Request
from .ops.base import Op, Streamed
from .ops.io import Job
from .pending_calls import WAITING_FOR_LOOP
from .status import Status

if TYPE_CHECKING:
    from .connection import Connection

__all__ = [
    "AWAITING",
    "Awaiting",
    "Callback",
    "RequestReplica",
    "Streamed",
    "callback_given",
    "dispatch",
    "drive_blocking",
    "error_for",
    "in_running_loop",
    "iterate_async",
    "run_async",
    "run_blocking",
]

T = TypeVar("T")

#: ``callback(data, status)``
Callback = Callable[[Any, Status], Any]


class Awaiting(enum.Enum):
    """``callback=AWAITING``: what ``corduroy.aio`` passes from inside its coroutines,
    where an event loop is known to run: "return the awaitable, no need to check". It is
    no callback: a method that treats a callback call differently asks
    :func:`callback_given`."""

    AWAITING = "AWAITING"


AWAITING = Awaiting.AWAITING


def callback_given(callback: object) -> bool:
    """Whether a call asked for the callback convention (``AWAITING`` is no callback)."""
    return callback is not None and callback is not AWAITING


#: the calling thread's running event loop, or None (no exception raised when there is none)
_running_loop = asyncio._get_running_loop


def in_running_loop() -> bool:
    """True when the calling thread is running an asyncio event loop."""
    return _running_loop() is not None


def blocking_only(what: str) -> None:
    """Refuse a blocking-only form (``len(db)``, ``name in couch``...) inside a running loop."""
    if in_running_loop():
        raise RuntimeError(
            f"{what} would block the running event loop; "
            "use the method form with await (e.g. await db.get(id))"
        )


def _callback_loop() -> asyncio.AbstractEventLoop:
    """The event loop of the calling thread, running or about to run."""
    running = _running_loop()
    if running is not None:
        return running
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
    return isinstance(body, bytes) and (b'"password"' in body or "/_config/admins/" in request.path)


class RequestReplica:
    """A copy of the first HTTP request of a call made with ``callback=``.

    Returned at once by such calls, for debugging: ``method``, ``url`` (no
    credentials), ``headers`` (secrets redacted) and ``body``. Awaiting it waits
    until the callback has run, which keeps e.g. a Tornado handler open:
    ``return db.get(id, callback=self.done)``.
    """

    __slots__ = ("_conn", "_done", "_request", "method")

    def __init__(self, request: Any, conn: Connection, done: asyncio.Future[None]) -> None:
        if not isinstance(request, Request):  # a Send, or no request at all (``get([])``)
            request = getattr(request, "request", None) or Request("", "")
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


def _start_callback(
    op: Op[Any], conn: Connection, callback: Callback, call: str | None
) -> RequestReplica:
    loop = _callback_loop()
    trace = _Trace()
    first: Any
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
    replica = RequestReplica(first, conn, done)
    if waiting:  # it runs when the loop starts; if it never does, say so at exit
        request, named = replica._request, call or "a call"
        if request.method:
            target = request.target
            target = target if len(target) <= 60 else target[:57] + "..."
            named = f"{named} ({request.method} {target})"
        WAITING_FOR_LOOP[task] = (named, result)
    return replica


def dispatch(
    op: Job[T],
    conn: Connection,
    callback: Callback | Awaiting | None = None,
    call: str | None = None,
) -> Any:
    """Run ``op`` in the convention the call asks for (see the module docstring).

    ``call`` is the public method, e.g. ``"Database.get"``: a forgotten ``await``
    and a callback call that never ran are reported under that name.
    """
    if callback is None:
        if _running_loop() is None:
            return run_blocking(op, conn)
        coro: Any = run_async(op, conn)
        if call is not None:  # Python reports a coroutine never awaited under its name
            coro.__qualname__ = coro.__name__ = call
        return coro
    if callback is AWAITING:  # corduroy.aio, inside its coroutine: the loop is running
        return run_async(op, conn)
    return _start_callback(op, conn, callback, call)
