"""The continuous ``_changes`` feed as one operation, for every way of consuming it.

:func:`continuous` connects, reads the body as it comes, hands changes out
with ``Emit``, and reconnects with jittered backoff from the last seq received
when the connection drops, times out (the heartbeat watchdog) or is refused
(the bookkeeping is :class:`~corduroy.ops.changes.FeedState`'s). How changes
are handed out is the ``delivery``'s business:

* :class:`OneByOne` (``for``/``async for``): one change per ``Emit``, so that
  ``last_seq`` is the seq of the change the loop got last;
* :class:`Batches` (``ChangesFeed``): every change read so far in one
  ``Emit``, no more often than every ``latency`` seconds (waiting with
  ``Read(wait=...)``, so the body goes on being read meanwhile);
* :class:`Checkpoints` (``db.follow``): one change per ``Emit``, and the seq
  of the last change handled saved in a ``_local`` document every ``every``
  changes or ``interval`` seconds, when the consumer stops the feed, and
  when its handler fails (not past the failed change).

The driver runs it like any operation (ops/io.py): the blocking one for
``for``, the asyncio one for ``async for`` and the callback feeds.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..errors import ConnectionDropped, CouchError, HTTPError
from .changes import FeedState, load_checkpoint, save_checkpoint
from .documents import DbRef
from .io import NOW, Close, Emit, Job, Read, Send, Sleep
from .replication import ServerTraits, detect_server

__all__ = ["READ_SIZE", "Batches", "Checkpoints", "OneByOne", "continuous"]

log = logging.getLogger("corduroy")

READ_SIZE = 65536


class OneByOne:
    """Hands out one change per ``Emit`` (the iterators)."""

    #: what the consumer raised when handed changes (it ends the feed, even a CouchError)
    consumer_error: BaseException | None = None

    def emit(self, changes: list[Any]) -> Job[None]:
        try:
            yield Emit(changes)
        except Exception as exc:
            self.consumer_error = exc
            raise

    def start(self, state: FeedState) -> Job[None]:
        return
        yield  # a generator that does nothing

    def deliver(self, state: FeedState) -> Job[float | None]:
        """Hand out what is queued; returns how long the next read may wait (``None``: as
        long as it takes)."""
        while state.queue:
            yield Emit(state.take(1))  # an iterator's loop raises nothing into the feed
        return None

    def pause(self, state: FeedState, seconds: float) -> Job[None]:
        yield Sleep(seconds)

    def finish(self, state: FeedState, failure: BaseException | None) -> Job[None]:
        if failure is None:
            yield from self.deliver(state)


class Batches(OneByOne):
    """Hands out every queued change at once, at most every ``latency()`` seconds."""

    def __init__(self, latency: Callable[[], float]) -> None:
        self.latency = latency
        self.last = float("-inf")  # when the last batch went out

    def deliver(self, state: FeedState) -> Job[float | None]:
        if not state.queue:
            return None
        latency = self.latency()
        if latency <= 0:  # whatever arrived goes out as it arrived: no clock needed
            yield Emit(state.take())
            return None
        now: float = yield NOW
        if latency > 0 and now < self.last + latency:
            return self.last + latency - now
        self.last = now
        yield Emit(state.take())
        return None

    def pause(self, state: FeedState, seconds: float) -> Job[None]:
        """Back off ``seconds``; a batch that falls due meanwhile still goes out in time."""
        while state.queue:
            wait = yield from self.deliver(state)
            if wait is None or wait >= seconds:
                break
            yield Sleep(wait)
            seconds -= wait
        yield Sleep(seconds)

    def finish(self, state: FeedState, failure: BaseException | None) -> Job[None]:
        if failure is None and state.queue:  # the feed's end: what is left goes out now
            self.last = yield NOW
            yield Emit(state.take())


class Checkpoints(OneByOne):
    """One change per ``Emit``; the seq of the last change handled saved in ``_local``."""

    def __init__(self, db: DbRef, checkpoint: str, every: int, interval: float) -> None:
        self.db = db
        self.checkpoint = checkpoint
        self.every = every
        self.interval = interval
        self.handled_seq: Any = None
        self.saved_seq: Any = None
        self.rev: str | None = None
        self.unsaved = 0
        self.saved_at = 0.0

    def start(self, state: FeedState) -> Job[None]:
        found = yield from load_checkpoint(self.db, self.checkpoint)
        if found is not None:
            seq, self.rev = found
            state.since = state.delivered_seq = seq
            self.handled_seq = self.saved_seq = seq
        self.saved_at = yield NOW

    def deliver(self, state: FeedState) -> Job[float | None]:
        while state.queue:
            change = state.take(1)[0]
            yield from self.emit([change])  # what the handler raises ends the feed
            if change.get("seq") is not None:
                self.handled_seq = change["seq"]
            self.unsaved += 1
            if self.unsaved >= self.every:
                yield from self.save()
        if self.unsaved:
            now = yield NOW
            if now - self.saved_at >= self.interval:
                yield from self.save()
        return None

    def save(self) -> Job[None]:
        self.unsaved = 0
        self.saved_at = yield NOW
        if self.handled_seq is None or self.handled_seq == self.saved_seq:
            return
        seq = self.handled_seq
        self.rev = yield from save_checkpoint(self.db, self.checkpoint, seq, self.rev)
        self.saved_seq = seq

    def finish(self, state: FeedState, failure: BaseException | None) -> Job[None]:
        try:
            yield from self.save()
        except CouchError as exc:
            log.warning("follower %r could not save its checkpoint: %s", self.checkpoint, exc)


def continuous(state: FeedState, traits: ServerTraits | None, delivery: OneByOne) -> Job[None]:
    """The continuous feed of ``state`` (see the module docstring); returns at its end.

    ``traits``: needed only while ``state.couchdb`` is unknown (a ``selector``).
    """
    body: Any = None
    sending = False
    try:
        yield from delivery.start(state)
        while not state.finished:
            try:
                if state.couchdb is None and traits is not None:
                    state.couchdb = (yield from detect_server(traits)).couchdb is True
                # the transport does not retry: the feed has its own backoff, from the last seq
                sending = True
                response = yield Send(state.request(), retry=False)
                sending = False
                body = response.stream
                state.connected()
                wait: float | None = None
                read = Read(body, READ_SIZE)
                while body is not None:
                    data = yield read if wait is None else Read(body, READ_SIZE, wait)
                    if data:
                        state.receive(data)
                    ended = data == b"" or state.finished or state.server_ended
                    wait = yield from delivery.deliver(state)
                    if ended:
                        break
                if body is not None:
                    state.disconnected()
                    yield Close(body)
                    body = None
                if not state.finished:
                    raise ConnectionDropped("the server ended the feed")
            except CouchError as exc:
                if exc is delivery.consumer_error:  # the handler's own call failed
                    raise
                if body is not None:
                    state.disconnected()
                    yield Close(body)
                    body = None
                elif sending and isinstance(exc, HTTPError):  # an error answer ends one too
                    state.disconnected()
                sending = False
                delay = state.failed(exc)  # raises a terminal error
                log.debug("changes feed: %s; again in %.2fs", exc, delay)
                yield from delivery.pause(state, delay)
    except Exception as exc:  # Stopped too: the consumer stopped the feed
        if body is not None:
            state.disconnected()
            body = None
        yield from delivery.finish(state, exc)
        raise
    finally:
        if body is not None:  # closed while reading: the driver closes the body
            state.disconnected()
    yield from delivery.finish(state, None)
