"""Change notifications: ``ChangesFeed`` (continuous); ``ChangesResult`` is re-exported.

A ``ChangesFeed`` runs as a task on the event loop of the thread that created
it, like every callback in corduroy (if that loop is not running yet, it starts
when the loop does). The seq bookkeeping, duplicate filtering and retry
decisions live in the pure :class:`~corduroy.ops.changes.FeedState`, the
connect-read-reconnect loop in the operation :func:`~corduroy.ops.feed.continuous`,
which the asyncio driver runs in a :class:`~corduroy.jobs.Background` task:

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

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .changes_result import ChangesResult
from .document import AttrDict
from .jobs import Background
from .ops.changes import FeedState
from .ops.feed import Batches, Checkpoints, OneByOne, continuous
from .ops.io import Job
from .ops.replication import ServerTraits, traits_for

if TYPE_CHECKING:
    from .database import Database

__all__ = ["ChangesFeed", "ChangesResult", "Follower"]

log = logging.getLogger("corduroy")


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
        self._delivery = self._make_delivery()
        conn = db.couch._conn
        self._job = Background(conn, self._operation, self._emit, self._fail, self._stopped)
        self.listen()

    # -- public ------------------------------------------------------------------------------

    @property
    def last_seq(self) -> Any:
        """The seq of the last change delivered (where ``listen()`` resumes)."""
        return self._state.delivered_seq

    @property
    def running(self) -> bool:
        """Started and not stopped, failed or finished."""
        return self._job.running

    def listen(self) -> ChangesFeed:
        """Start listening (again, after ``stop()``), from the last seq delivered."""
        if not self.running:
            self._job.start()
            self.error = None
        return self

    def stop(self) -> None:
        """Stop listening; returns at once, from any thread. Undelivered changes are dropped
        (``listen()`` fetches them again)."""
        self._job.stop()

    async def wait(self) -> None:
        """Wait until the feed stops (``stop()``, a terminal error, or its end)."""
        await self._job.wait()

    def run(self) -> None:
        """Blocking: run this thread's event loop until the feed stops."""
        self._job.run()

    def __repr__(self) -> str:
        state = "listening" if self.running else ("failed" if self.error else "stopped")
        return f"<ChangesFeed {self.db.name!r} {state}, last_seq {self.last_seq!r}>"

    # -- the operation and its delivery (Follower overrides these) ---------------------------

    def _make_delivery(self) -> OneByOne:
        return Batches(lambda: self.latency)

    def _traits(self) -> ServerTraits | None:
        """The server's traits, when the feed must know which server it talks to."""
        return traits_for(self.db.couch._conn) if self._state.couchdb is None else None

    def _operation(self) -> Job[None]:
        return continuous(self._state, self._traits(), self._delivery)

    def _emit(self, batch: list[AttrDict]) -> Any:
        try:
            self.callback(self._state.last_seq, batch)
        except Exception as exc:  # report it like asyncio does; the feed goes on
            self._job.report(f"exception in changes listener {self.callback!r}", exc)

    def _stopped(self) -> None:
        self._state.discard()

    def _fail(self, exc: BaseException) -> None:
        self.error = exc
        if self.on_error is not None:
            try:
                self.on_error(exc)
            except Exception as hook_exc:
                self._job.report("exception in a ChangesFeed on_error hook", hook_exc)
        else:
            log.warning("changes feed of %r stopped: %s", self.db.name, exc)


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
        super().__init__(db, dict(options or {}), handler, latency=0, on_error=on_error)

    @property
    def handled_seq(self) -> Any:
        """The seq of the last change the handler returned from."""
        assert isinstance(self._delivery, Checkpoints)
        return self._delivery.handled_seq

    def _make_delivery(self) -> OneByOne:
        return Checkpoints(self.db._ref, self.checkpoint, self.every, self.interval)

    def _emit(self, batch: list[AttrDict]) -> Any:
        return self.callback(batch[0])  # what it raises ends the follower
