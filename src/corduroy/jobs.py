"""Long-running operations (those that ``Emit``) delivered to callbacks: :class:`Background`.

``for`` and ``async for`` over such an operation are the drivers' own
(:func:`~corduroy.driver_core.drive_blocking`, :func:`~corduroy.driver_core.iterate_async`);
a callback consumer gets a task on the event loop of the thread that made it,
started when that loop runs and stopped from any thread. With the drivers, the
only code that touches event loops.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .driver_core import run_async
from .drivers import _callback_loop
from .ops.io import Job

if TYPE_CHECKING:
    from .connection import Connection

__all__ = ["Background"]


class Background:
    """Runs an operation as a task on the calling thread's event loop.

    ``make()`` builds the operation at each ``start()``; its emitted batches
    go to ``emit`` (which may return an awaitable); ``on_error(exc)`` is told
    how it failed. ``stop()`` works from any thread; ``wait()`` waits for the
    end; ``run()`` runs the loop until then.
    """

    def __init__(
        self,
        conn: Connection,
        make: Callable[[], Job[Any]],
        emit: Callable[[list[Any]], Any],
        on_error: Callable[[BaseException], None],
        on_stop: Callable[[], None],
    ) -> None:
        self._conn = conn
        self._make = make
        self._emit = emit
        self._on_error = on_error
        self._on_stop = on_stop
        self.loop = _callback_loop()
        self._task: asyncio.Task[Any] | None = None
        self._start: asyncio.Handle | None = None
        self._finished: asyncio.Future[None] | None = None
        self._halted = False

    @property
    def running(self) -> bool:
        if self._halted:
            return False
        return self._start is not None or (self._task is not None and not self._task.done())

    def start(self) -> None:
        if self.running:
            return
        if self._task is not None and not self._task.done():
            raise RuntimeError("the feed is still stopping: `await feed.wait()` first")
        self._halted = False
        self._finished = self.loop.create_future()
        self._start = self.loop.call_soon(self._begin)

    def stop(self) -> None:
        try:
            here = asyncio.get_running_loop() is self.loop
        except RuntimeError:
            here = not self.loop.is_running()
        if here:
            self._halt()
        else:
            self.loop.call_soon_threadsafe(self._halt)

    async def wait(self) -> None:
        if self._finished is not None:
            await asyncio.shield(self._finished)

    def run(self) -> None:
        if self.loop.is_running():
            raise RuntimeError("the loop is running already: use `await feed.wait()`")
        self.loop.run_until_complete(self.wait())

    def report(self, message: str, exc: BaseException) -> None:
        """Report an exception of user code the way asyncio does."""
        self.loop.call_exception_handler({"message": message, "exception": exc})

    def _begin(self) -> None:
        self._start = None
        self._task = self.loop.create_task(run_async(self._make(), self._conn, emit=self._emit))
        self._task.add_done_callback(self._ended)

    def _halt(self) -> None:
        self._halted = True
        if self._start is not None:
            self._start.cancel()
            self._start = None
            self._settle()
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._on_stop()

    def _ended(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._on_error(exc)
        self._settle()

    def _settle(self) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)
