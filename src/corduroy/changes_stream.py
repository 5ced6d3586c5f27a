"""Iterating over a continuous feed: ``for change in ...`` and ``async for change in ...``.

``db.changes(feed="continuous")`` without a callback returns a
:class:`ContinuousChanges`. Blocking iteration runs on the calling thread with
the blocking transport; ``async for`` runs on the running loop. Both use the
same :class:`~corduroy.ops.changes.FeedState` as the callback feed: heartbeats,
a read timeout as watchdog, and reconnects with jittered backoff from the last
seq received, so no change is lost and none is yielded twice. Breaking out of
the loop closes the connection.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any

from .closing import Closing
from .document import AttrDict
from .drivers import drive_blocking, in_running_loop, iterate_async
from .ops.changes import FeedState
from .ops.feed import OneByOne, continuous
from .ops.io import Job
from .ops.replication import ServerTraits, traits_for

if TYPE_CHECKING:
    from .database import Database

__all__ = ["ContinuousChanges"]


class ContinuousChanges(Closing):
    """A continuous ``_changes`` feed to iterate over (blocking or ``async for``).

    ``last_seq`` is the seq of the last change yielded; ``close()`` (or leaving
    a ``with``/``async with`` block, or breaking out of the loop) ends it. The
    feed ends by itself only when the options ask for an end (``limit``, or
    ``timeout`` without ``heartbeat``); a 4xx answer (401, 403, the database
    deleted) is raised from the loop.
    """

    def __init__(self, db: Database, options: dict[str, Any]) -> None:
        self.db = db
        self._state = FeedState(db._ref, options, couchdb=None)
        self._closed = threading.Event()
        # Weak: a loop that breaks out drops the last reference, which closes the
        # generator and its connection at once. ``__next__`` holds its own.
        self._sync: weakref.ref[Generator[AttrDict, None, None]] | None = None
        self._async: weakref.ref[AsyncGenerator[AttrDict, None]] | None = None
        self._held: Any = None

    @property
    def last_seq(self) -> Any:
        return self._state.delivered_seq

    def __repr__(self) -> str:
        return f"<ContinuousChanges {self.db.name!r}, last_seq {self.last_seq!r}>"

    def _traits(self) -> ServerTraits | None:
        """The server's traits, when the feed must know which server it talks to."""
        return traits_for(self.db.couch._conn) if self._state.couchdb is None else None

    def _operation(self) -> Job[None]:
        return continuous(self._state, self._traits(), OneByOne())

    # -- blocking ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[AttrDict]:
        if in_running_loop():
            raise RuntimeError("inside a running event loop, use `async for change in feed`")
        gen = self._sync() if self._sync is not None else None
        if gen is None:
            gen = self._iterate()
            self._sync = weakref.ref(gen)
        return gen

    def _iterate(self) -> Generator[AttrDict, None, None]:
        if not self._closed.is_set():
            yield from drive_blocking(self._operation(), self.db.couch._conn, stop=self._closed)

    def __next__(self) -> AttrDict:
        if self._held is None:
            self._held = iter(self)
        return next(self._held)  # type: ignore[no-any-return]

    def close(self) -> None:
        """End the feed (from another thread: at the next heartbeat at the latest)."""
        self._closed.set()
        gen = self._sync() if self._sync is not None else None
        if gen is not None:
            try:
                gen.close()
            except ValueError:  # running in another thread: it sees the stop soon
                pass

    # -- asyncio -----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[AttrDict]:
        gen = self._async() if self._async is not None else None
        if gen is None:
            gen = self._aiterate()
            self._async = weakref.ref(gen)
        return gen

    async def _aiterate(self) -> AsyncGenerator[AttrDict, None]:
        if self._closed.is_set():
            return
        items = iterate_async(self._operation(), self.db.couch._conn)
        try:
            async for change in items:
                yield change
        finally:
            await items.aclose()

    async def __anext__(self) -> AttrDict:
        if self._held is None:
            self._held = self.__aiter__()
        return await self._held.__anext__()  # type: ignore[no-any-return]

    async def aclose(self) -> None:
        """End the feed and close its connection."""
        self._closed.set()
        gen = self._async() if self._async is not None else None
        if gen is not None:
            await gen.aclose()
