"""The retry policy: which failed requests are sent again, and after how long.

Pure decisions, no I/O and no sleeping: the transports ask
:meth:`RetryPolicy.after_failure` (the request got no answer) or
:meth:`RetryPolicy.after_status` (it got a 429/502/503/504) for a delay, sleep
that long themselves (``time.sleep`` or ``asyncio.sleep``) and try again; a
``None`` answer means "give up and report what happened".

What is safe to repeat:

* a request that never reached the server (the connection could not be
  opened): any request, writes included;
* a request that may have reached it (the connection broke during the
  exchange, or the server answered 429/502/503/504): only requests that are
  safe to repeat, ``GET``/``HEAD`` and the read-only POSTs the operations mark
  ``Request(idempotent=True)`` (``_all_docs``, ``_bulk_get``, ``_find``, view
  ``keys``), and only when the body can be sent again (bytes, not an iterator).

Writes that name their documents' ids are safe to send twice too, but telling
"the first attempt landed" from a real conflict needs a read of the document,
so that decision is the operation's (:mod:`corduroy.ops.resend`): it receives
the ``ConnectionDropped`` and sends the write again itself.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum

from corduroy.http.messages import Request

__all__ = ["NO_RETRY", "Failure", "RetryPolicy", "parse_retry_after"]


class Failure(Enum):
    """How a request failed, as far as the transport can tell."""

    #: the connection could not be opened: nothing was sent
    CONNECT = "connect"
    #: the connection broke during the exchange: the server may have acted on it
    DROPPED = "dropped"
    #: no byte for ``read_timeout`` seconds: the server may still be working on it
    TIMEOUT = "timeout"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or an HTTP date)."""
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, seconds)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When and how often a failed request is tried again.

    ``attempts`` counts every try, the first included (1: never retry).
    The n-th retry waits a random time between 0 and
    ``min(max_backoff, backoff * 2 ** (n - 1))`` seconds ("full jitter"), or
    what the server's ``Retry-After`` asks for. No retry starts once ``total``
    seconds have passed since the first try (nor one whose wait would end
    later), and a ``Retry-After`` longer than ``max_retry_after`` is not waited
    for: the 503 is reported instead.

    ``statuses`` are retried for requests that are safe to repeat;
    ``write_statuses`` (default none) also for writes: ``{429}`` suits servers
    whose 429 means the request was refused unprocessed. ``read_timeouts``
    makes a read timeout of a safe request count as a failure worth a retry
    (off by default: a server that stalled once for ``read_timeout`` seconds
    is likely to stall again).
    """

    attempts: int = 5
    backoff: float = 0.1
    max_backoff: float = 5.0
    total: float = 30.0
    statuses: frozenset[int] = frozenset({429, 502, 503, 504})
    write_statuses: frozenset[int] = frozenset()
    max_retry_after: float = 60.0
    read_timeouts: bool = False
    #: a number in [0, 1): the jitter's source (replaceable in tests)
    random: Callable[[], float] = field(default=random.random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        for name in ("backoff", "max_backoff", "total", "max_retry_after"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative")
        object.__setattr__(self, "statuses", frozenset(self.statuses))
        object.__setattr__(self, "write_statuses", frozenset(self.write_statuses))

    @property
    def enabled(self) -> bool:
        return self.attempts > 1

    def backoff_delay(self, retry: int) -> float:
        """The jittered wait before retry number ``retry`` (1 for the first retry)."""
        ceiling = min(self.max_backoff, self.backoff * 2.0 ** max(0, retry - 1))
        return self.random() * ceiling

    def _schedule(self, attempt: int, elapsed: float, wait: float) -> float | None:
        if attempt >= self.attempts or elapsed + wait > self.total:
            return None
        return wait

    def after_failure(
        self, request: Request, failure: Failure, attempt: int, elapsed: float
    ) -> float | None:
        """The wait before trying ``request`` again after try ``attempt`` got no answer.

        ``elapsed`` is the time since the first try. ``None``: don't retry.
        """
        if failure is not Failure.CONNECT:
            if not request.resendable:
                return None
            if failure is Failure.TIMEOUT and not self.read_timeouts:
                return None
        return self._schedule(attempt, elapsed, self.backoff_delay(attempt))

    def after_status(
        self, request: Request, status: int, retry_after: str | None, attempt: int, elapsed: float
    ) -> float | None:
        """The wait before trying ``request`` again after it was answered ``status``."""
        if status not in self.statuses and status not in self.write_statuses:
            return None
        if not request.replayable:
            return None
        if not request.is_idempotent and status not in self.write_statuses:
            return None
        asked = parse_retry_after(retry_after)
        if asked is not None:
            if asked > self.max_retry_after:
                return None
            return self._schedule(attempt, elapsed, asked)
        return self._schedule(attempt, elapsed, self.backoff_delay(attempt))


#: never retry (``Couch(retry=False)``)
NO_RETRY = RetryPolicy(attempts=1)
