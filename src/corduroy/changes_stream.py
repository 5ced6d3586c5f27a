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

import asyncio
import threading
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator
from typing import TYPE_CHECKING, Any

from .document import AttrDict
from .drivers import error_for, in_running_loop, run_async, run_blocking
from .errors import ConnectionDropped, CouchError
from .http.config import call_options
from .ops.changes import FeedState
from .ops.replication import detect_server, traits_for

if TYPE_CHECKING:
    from .database import Database

__all__ = ["ContinuousChanges"]

READ_SIZE = 65536


class ContinuousChanges:
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
        self._closed = False
        self._wake = threading.Event()
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

    # -- blocking ----------------------------------------------------------------------------

    def __iter__(self) -> Iterator[AttrDict]:
        if in_running_loop():
            raise RuntimeError("inside a running event loop, use `async for change in feed`")
        gen = self._sync() if self._sync is not None else None
        if gen is None:
            gen = self._iterate()
            self._sync = weakref.ref(gen)
        return gen

    def __next__(self) -> AttrDict:
        if self._held is None:
            self._held = iter(self)
        return next(self._held)  # type: ignore[no-any-return]

    def __enter__(self) -> ContinuousChanges:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the feed (from another thread: at the next heartbeat at the latest)."""
        self._closed = True
        self._wake.set()
        gen = self._sync() if self._sync is not None else None
        if gen is not None:
            try:
                gen.close()
            except ValueError:  # running in another thread: it sees _closed soon
                pass

    def _iterate(self) -> Generator[AttrDict, None, None]:
        state = self._state
        conn = self.db.couch._conn
        stream: Any = None
        try:
            while not self._closed:
                while state.queue:
                    yield state.take(1)[0]
                    if self._closed:
                        return
                if state.finished:
                    return
                try:
                    if stream is None:
                        if state.couchdb is None:
                            traits = run_blocking(detect_server(traits_for(conn)), conn)
                            state.couchdb = traits.couchdb is True
                        request = state.request()
                        with call_options(retry=False):  # the feed has its own backoff
                            response = conn.send(request)
                        stream = response.stream
                        if response.status >= 400:
                            body = stream.read() if stream is not None else response.body
                            raise error_for(request, response, conn, body)
                        state.connected()
                    data = stream.read(READ_SIZE) if stream is not None else b""
                    if data:
                        state.receive(data)
                    if not data or state.server_ended:
                        _close(stream, state)
                        stream = None
                        if not state.finished and not state.queue:
                            raise ConnectionDropped("the server ended the feed")
                except CouchError as exc:
                    _close(stream, state)
                    stream = None
                    if self._wake.wait(state.failed(exc)):
                        return
        finally:
            _close(stream, state)

    # -- asyncio -----------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[AttrDict]:
        gen = self._async() if self._async is not None else None
        if gen is None:
            gen = self._aiterate()
            self._async = weakref.ref(gen)
        return gen

    async def __anext__(self) -> AttrDict:
        if self._held is None:
            self._held = self.__aiter__()
        return await self._held.__anext__()  # type: ignore[no-any-return]

    async def __aenter__(self) -> ContinuousChanges:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """End the feed and close its connection."""
        self._closed = True
        gen = self._async() if self._async is not None else None
        if gen is not None:
            await gen.aclose()

    async def _aiterate(self) -> AsyncGenerator[AttrDict, None]:
        state = self._state
        conn = self.db.couch._conn
        stream: Any = None
        try:
            while not self._closed:
                while state.queue:
                    yield state.take(1)[0]
                    if self._closed:
                        return
                if state.finished:
                    return
                try:
                    if stream is None:
                        if state.couchdb is None:
                            traits = await run_async(detect_server(traits_for(conn)), conn)
                            state.couchdb = traits.couchdb is True
                        request = state.request()
                        with call_options(retry=False):  # the feed has its own backoff
                            response = await conn.send_async(request)
                        stream = response.stream
                        if response.status >= 400:
                            body = await stream.read() if stream is not None else response.body
                            raise error_for(request, response, conn, body)
                        state.connected()
                    data = await stream.read(READ_SIZE) if stream is not None else b""
                    if data:
                        state.receive(data)
                    if not data or state.server_ended:
                        await _aclose(stream, state)
                        stream = None
                        if not state.finished and not state.queue:
                            raise ConnectionDropped("the server ended the feed")
                except CouchError as exc:
                    await _aclose(stream, state)
                    stream = None
                    await asyncio.sleep(state.failed(exc))
        finally:
            await _aclose(stream, state)


def _close(stream: Any, state: FeedState) -> None:
    if stream is not None:
        state.disconnected()
        stream.close()


async def _aclose(stream: Any, state: FeedState) -> None:
    if stream is not None:
        state.disconnected()
        await stream.aclose()
