"""Callback calls waiting for their event loop.

A call made with ``callback=`` while the thread's loop is not running waits for
that loop to run. If the process ends first, :func:`warn_calls_that_never_ran`
(registered with ``atexit``) names those calls once, so they do not vanish
silently: the public method and its first request, ``Database.get (GET /db/x)``.
"""

from __future__ import annotations

import asyncio
import atexit
import warnings
from typing import Any

__all__ = ["WAITING_FOR_LOOP", "warn_calls_that_never_ran"]

#: callback calls made while their loop was not running, until they start:
#: task -> (the call, e.g. ``Database.get (GET /db/x)``, the coroutine the task would await)
WAITING_FOR_LOOP: dict[asyncio.Task[None], tuple[str, Any]] = {}


def warn_calls_that_never_ran() -> None:
    """At exit: name the callback calls whose event loop never ran (once, all of them)."""
    never = [(task, call, coro) for task, (call, coro) in WAITING_FOR_LOOP.items()]
    WAITING_FOR_LOOP.clear()
    never = [item for item in never if not item[0].done()]
    if not never:
        return
    names = ", ".join(call for _, call, _ in never[:5])
    if len(never) > 5:
        names += f", ... ({len(never) - 5} more)"
    warnings.warn_explicit(
        f"{len(never)} call{'s' if len(never) > 1 else ''} made with callback= never ran: "
        f"{names}. Callbacks need a running event loop: start the thread's loop "
        "(IOLoop.current().start(), loop.run_forever(), loop.run_until_complete(...)) "
        "after making the call, or call without callback= to block",
        RuntimeWarning,
        "corduroy",
        0,
    )
    for task, _, coro in never:  # said once here: no "destroyed but pending" noise after
        task._log_destroy_pending = False  # type: ignore[attr-defined]
        task.get_coro().close()
        coro.close()


atexit.register(warn_calls_that_never_ran)
