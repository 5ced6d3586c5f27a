"""Change notifications: ``ChangesFeed`` (continuous); ``ChangesResult`` is re-exported.

A ``ChangesFeed`` runs as a task on the event loop of the thread that created
it, like every callback in corduroy (if that loop is not running yet, it starts
when the loop does). The seq bookkeeping, duplicate filtering and retry
decisions live in the pure :class:`~corduroy.ops.changes.FeedState`; this
module only does the waiting:

* ``listener(last_seq, changes)`` gets batches no more often than every
  ``latency`` seconds (a change after a quiet spell is delivered at once;
  ``latency=0`` delivers whatever arrived, as soon as it arrived);
* each connection asks for heartbeats and has a read timeout a little longer
  than the heartbeat: a silent connection (a dead peer, a hung proxy) counts
  as dropped;
* a dropped connection, a refused one or a 5xx answer is retried with
  exponential backoff and jitter, from the last seq received, so no change is
  lost and none is delivered twice;
* 4xx answers (401, 403, the database deleted) stop the feed: ``feed.error``
  is set and ``on_error(exc)`` called.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .changes_result import ChangesResult
from .document import AttrDict
from .drivers import _callback_loop, error_for, run_async
from .errors import ConnectionDropped, CouchError
from .http.config import call_options
from .ops.changes import FeedState, load_checkpoint, save_checkpoint
from .ops.replication import detect_server, traits_for

if TYPE_CHECKING:
    from .database import Database

__all__ = ["ChangesFeed", "ChangesResult", "Follower"]

log = logging.getLogger("corduroy")

READ_SIZE = 65536


class ChangesFeed:
    """A continuous ``_changes`` feed delivering batches to ``callback(last_seq, changes)``.

    Made by ``db.changes(feed="continuous", callback=listener)``; it starts
    listening at once. ``stop()`` ends it (promptly, from any thread) and
    ``listen()`` starts it again from the last seq delivered. ``await
    feed.wait()`` (or, outside a running loop, ``feed.run()``) waits until it
    stops. ``latency`` may be changed while it runs.
    """

    def __init__(
        self,
        db: Database,
        options: dict[str, Any],
        callback: Callable[..., Any],
        *,
        latency: float = 1.0,
        on_error: Callable[[BaseException], Any] | None = None,
    ) -> None:
        if latency < 0:
            raise ValueError("latency must not be negative")
        self.db = db
        self.callback = callback
        self.latency = latency
        self.on_error = on_error
        self.error: BaseException | None = None
        self._state = FeedState(db._ref, options, couchdb=None)
        self._loop = _callback_loop()
        self._task: asyncio.Task[None] | None = None
        self._start: asyncio.Handle | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._finished: asyncio.Future[None] | None = None
        self._last_delivery = float("-inf")
        self._halted = False
        self.listen()

    # -- public ------------------------------------------------------------------------------

    @property
    def last_seq(self) -> Any:
        """The seq of the last change delivered (where ``listen()`` resumes)."""
        return self._state.delivered_seq

    @property
    def running(self) -> bool:
        """Started and not stopped, failed or finished."""
        if self._halted:
            return False
        return self._start is not None or (self._task is not None and not self._task.done())

    def listen(self) -> ChangesFeed:
        """Start listening (again, after ``stop()``), from the last seq delivered."""
        if self.running:
            return self
        if self._task is not None and not self._task.done():
            raise RuntimeError("the feed is still stopping: `await feed.wait()` first")
        self._halted = False
        self.error = None
        self._finished = self._loop.create_future()
        self._start = self._loop.call_soon(self._begin)
        return self

    def stop(self) -> None:
        """Stop listening; returns at once, from any thread. Undelivered changes are dropped
        (``listen()`` fetches them again)."""
        try:
            here = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            here = not self._loop.is_running()
        if here:
            self._halt()
        else:
            self._loop.call_soon_threadsafe(self._halt)

    async def wait(self) -> None:
        """Wait until the feed stops (``stop()``, a terminal error, or its end)."""
        if self._finished is not None:
            await asyncio.shield(self._finished)

    def run(self) -> None:
        """Blocking: run this thread's event loop until the feed stops."""
        if self._loop.is_running():
            raise RuntimeError("the loop is running already: use `await feed.wait()`")
        self._loop.run_until_complete(self.wait())

    def __repr__(self) -> str:
        state = "listening" if self.running else ("failed" if self.error else "stopped")
        return f"<ChangesFeed {self.db.name!r} {state}, last_seq {self.last_seq!r}>"

    # -- the task ----------------------------------------------------------------------------

    def _begin(self) -> None:
        self._start = None
        self._task = self._loop.create_task(self._run())
        self._task.add_done_callback(self._ended)

    def _halt(self) -> None:
        self._halted = True
        if self._start is not None:
            self._start.cancel()
            self._start = None
            self._settle()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._state.discard()

    def _ended(self, task: asyncio.Task[None]) -> None:
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._fail(exc)
        self._settle()

    def _settle(self) -> None:
        if self._finished is not None and not self._finished.done():
            self._finished.set_result(None)

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception as hook_exc:
                self._loop.call_exception_handler(
                    {"message": "exception in a ChangesFeed on_error hook", "exception": hook_exc}
                )
        else:
            log.warning("changes feed of %r stopped: %s", self.db.name, exc)

    async def _run(self) -> None:
        state = self._state
        conn = self.db.couch._conn
        try:
            await self._prepare()
            while not state.finished:
                try:
                    if state.couchdb is None:
                        traits = await run_async(detect_server(traits_for(conn)), conn)
                        state.couchdb = traits.couchdb is True
                    await self._connection()
                    if not state.finished:
                        raise ConnectionDropped("the server ended the feed")
                except CouchError as exc:
                    delay = state.failed(exc)  # raises a terminal error
                    log.debug("changes feed of %r: %s; again in %.2fs", self.db.name, exc, delay)
                    await asyncio.sleep(delay)
            self._flush()
        finally:
            await self._cleanup()

    async def _connection(self) -> None:
        state = self._state
        conn = self.db.couch._conn
        request = state.request()
        with call_options(retry=False):  # the feed has its own backoff, from the last seq
            response = await conn.send_async(request)
        stream = response.stream
        try:
            if response.status >= 400:
                body = await stream.read() if stream is not None else response.body
                raise error_for(request, response, conn, body)
            state.connected()
            while stream is not None:
                data = await stream.read(READ_SIZE)
                if not data:
                    break
                state.receive(data)
                await self._on_data()
                if state.finished or state.server_ended:
                    break
        finally:
            state.disconnected()
            if stream is not None:
                await stream.aclose()

    # -- delivery (overridden by Follower) -------------------------------------------------

    async def _prepare(self) -> None:
        """Runs once per ``listen()``, before the first connection."""

    async def _cleanup(self) -> None:
        """Runs when the task ends, however it ends."""

    async def _on_data(self) -> None:
        self._schedule()

    def _schedule(self) -> None:
        if self._timer is not None or not self._state.queue:
            return
        due = self._last_delivery + self.latency
        if self.latency <= 0 or self._loop.time() >= due:
            self._deliver()
        else:
            self._timer = self._loop.call_at(due, self._deliver)

    def _flush(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._deliver()

    def _deliver(self) -> None:
        self._timer = None
        batch = self._state.take()
        if not batch:
            return
        self._last_delivery = self._loop.time()
        try:
            self.callback(self._state.last_seq, batch)
        except Exception as exc:  # report it like asyncio does; the feed goes on
            self._loop.call_exception_handler(
                {"message": f"exception in changes listener {self.callback!r}", "exception": exc}
            )


class Follower(ChangesFeed):
    """A changes consumer that remembers how far it got (``db.follow``).

    ``handler(change)`` is called once per change, in order; when it returns an
    awaitable, that is awaited before the next change. The seq of the last
    change handled is saved in the ``_local/<checkpoint>`` document every
    ``every`` changes or ``interval`` seconds (and when the follower stops),
    and a new follower with the same checkpoint starts after it. Delivery is
    *at least once*: changes handled after the last save are handled again
    after a crash. A handler that raises stops the follower (``error``,
    ``on_error``) without saving past the failed change.
    """

    def __init__(
        self,
        db: Database,
        handler: Callable[[AttrDict], Any],
        checkpoint: str,
        *,
        every: int = 100,
        interval: float = 5.0,
        on_error: Callable[[BaseException], Any] | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        if every < 1 or interval <= 0:
            raise ValueError("every must be >= 1 and interval > 0")
        self.checkpoint = checkpoint
        self.every = every
        self.interval = interval
        self.handled_seq: Any = None
        self._saved_seq: Any = None
        self._rev: str | None = None
        self._unsaved = 0
        self._saved_at = 0.0
        super().__init__(db, dict(options or {}), handler, latency=0, on_error=on_error)

    async def _prepare(self) -> None:
        conn = self.db.couch._conn
        found = await run_async(load_checkpoint(self.db._ref, self.checkpoint), conn)
        if found is not None:
            seq, self._rev = found
            self._state.since = self._state.delivered_seq = seq
            self.handled_seq = self._saved_seq = seq
        self._saved_at = self._loop.time()

    async def _on_data(self) -> None:
        state = self._state
        while state.queue:
            change = state.take(1)[0]
            result = self.callback(change)
            if inspect.isawaitable(result):
                await result
            if change.get("seq") is not None:
                self.handled_seq = change["seq"]
            self._unsaved += 1
            if self._unsaved >= self.every:
                await self._save()
        if self._unsaved and self._loop.time() - self._saved_at >= self.interval:
            await self._save()

    def _flush(self) -> None:
        pass  # _on_data handles everything as it arrives

    async def _save(self) -> None:
        self._unsaved = 0
        self._saved_at = self._loop.time()
        if self.handled_seq is None or self.handled_seq == self._saved_seq:
            return
        conn = self.db.couch._conn
        seq = self.handled_seq
        self._rev = await run_async(
            save_checkpoint(self.db._ref, self.checkpoint, seq, self._rev), conn
        )
        self._saved_seq = seq

    async def _cleanup(self) -> None:
        try:
            await self._save()
        except CouchError as exc:
            log.warning("follower %r could not save its checkpoint: %s", self.checkpoint, exc)
