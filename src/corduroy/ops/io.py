"""The instructions an operation yields besides a :class:`~corduroy.http.messages.Request`.

An operation is a generator; what it yields tells the driver what to do, and
what the driver sends back is the answer:

========================  ==============================================================
yield                     sent back
========================  ==============================================================
``Request``               the :class:`~corduroy.http.messages.Response` (an error status
                          is thrown in as :class:`~corduroy.errors.HTTPError`)
``Send(request, retry)``  the same, with the transport's own retries off when ``retry``
                          is false (a feed that does its own backoff)
``Read(body, size)``      the next bytes of a streamed response body (``b""`` at its
                          end); with ``wait``, ``None`` when no byte came in time
``Close(body)``           ``None``: the body is let go (its connection reused if read
                          to the end)
``Sleep(seconds)``        ``None``, that much later (backoff, latency, polling)
``Now()``                 the driver's monotonic clock, in seconds
``Emit(items)``           ``None`` once the consumer took ``items``: the driver hands
                          them to the ``for``/``async for`` loop or the callback
========================  ==============================================================

A failure of the I/O (a dropped connection, a timeout) is thrown in at the
``yield`` that asked for it. An error raised by the consumer of an ``Emit``
(a callback) is thrown in at that ``yield``; when the consumer stops the
operation (``feed.stop()``), :class:`Stopped` is thrown in at whatever the
operation waits for, and it may still yield requests to clean up (save a
checkpoint) before it returns. Streamed bodies the operation received are
closed by the driver when the operation ends in any other way than returning.

Nothing here does any I/O: operations stay pure and testable by hand (send
them fake responses, assert what they yield).
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, TypeVar

from ..http.messages import Request

__all__ = ["NOW", "Close", "Emit", "Job", "Now", "Read", "Send", "Sleep", "Stopped", "Streaming"]

T = TypeVar("T")

#: An operation that yields any instruction (not only requests) and returns ``T``.
Job = Generator[Any, Any, T]


@dataclass(slots=True)
class Send:
    """Send ``request``; ``retry=False`` turns the transport's retries off for it."""

    request: Request
    retry: bool = True


@dataclass(slots=True)
class Read:
    """Read up to ``size`` bytes of ``body`` (a ``Response.stream``).

    ``wait``: give up after that many seconds and answer ``None`` (the bytes
    that come later are answered to the next ``Read``). A blocking driver may
    wait longer (until bytes come).
    """

    body: Any
    size: int = 65536
    wait: float | None = None


@dataclass(slots=True)
class Close:
    """Let a streamed body go before its end."""

    body: Any


@dataclass(slots=True)
class Sleep:
    """Wait ``seconds``."""

    seconds: float


@dataclass(slots=True)
class Now:
    """Ask the driver's monotonic clock (seconds)."""


@dataclass(slots=True)
class Emit:
    """Hand ``items`` to the consumer of a long-running operation."""

    items: list[Any]


class Streaming:
    """What an operation returns when the rest of its answer is read as the caller asks.

    ``rest`` is an operation that emits the items (the chunks of a download)
    read from ``body``; the blocking driver returns ``blocking(iterator)`` over
    them, the asyncio driver ``awaited(async_iterator)``: the call's result.
    Closing the iterator before its end closes ``body``.
    """

    __slots__ = ("awaited", "blocking", "body", "rest")

    def __init__(
        self,
        rest: Job[None],
        body: Any,
        blocking: Callable[[Any], Any],
        awaited: Callable[[Any], Any],
    ) -> None:
        self.rest = rest
        self.body = body
        self.blocking = blocking
        self.awaited = awaited


class Stopped(Exception):
    """Thrown into an operation whose consumer stopped it (e.g. ``feed.stop()``)."""


#: one ``Now()`` is enough: it carries nothing
NOW = Now()
