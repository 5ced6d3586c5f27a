"""Callback calls waiting for their event loop, and the public name of a call.

A call made with ``callback=`` while the thread's loop is not running waits for
that loop to run. If the process ends first, :func:`warn_calls_that_never_ran`
(registered with ``atexit``) names those calls once, so they do not vanish
silently. :func:`public_call` names a call (``Database.get('x')``) for that
warning and for Python's own "coroutine ... was never awaited".
"""

from __future__ import annotations

import asyncio
import atexit
import re
import sys
import warnings
from typing import Any

__all__ = ["WAITING_FOR_LOOP", "public_call", "warn_calls_that_never_ran"]

#: callback calls made while their loop was not running, until they start:
#: task -> (the call, e.g. ``Database.get('x')``, the coroutine the task would await)
WAITING_FOR_LOOP: dict[asyncio.Task[None], tuple[str, Any]] = {}


def public_call(depth: int, with_argument: bool) -> str:
    """The public call that reached ``dispatch``, e.g. ``Database.get`` or
    ``Database.get('x')``, for warnings only.

    It reads the name of the caller's code (and, with ``with_argument``, its
    first argument) from the frame ``depth`` levels up; nothing is decided by
    it. A method reached through a mixin is named by the object's class.
    """
    frame = sys._getframe(depth + 1)
    code = frame.f_code
    owner = frame.f_locals.get("self") if code.co_argcount else None
    method = getattr(type(owner), code.co_name, None) if owner is not None else None
    if getattr(method, "__code__", None) is code:
        name = f"{type(owner).__name__}.{code.co_name}"
    else:
        name = code.co_qualname
    if not with_argument:
        return name
    argument = ""
    if code.co_argcount > 1:
        argument = _shown(frame.f_locals.get(code.co_varnames[1]))
    return f"{name}({argument})"


#: the credentials of a url (``scheme://user:password@``)
_USERINFO = re.compile(r"(?<=://)[^/@\s]*@")


def _shown(value: Any) -> str:
    """An argument as a warning may show it: a str (an id, a name; credentials in a
    url redacted), otherwise only its type, since a document may hold a password."""
    if not isinstance(value, str):
        return f"<{type(value).__name__}>"
    text = repr(_USERINFO.sub("<redacted>@", value))
    return text if len(text) <= 60 else text[:57] + "..."


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
