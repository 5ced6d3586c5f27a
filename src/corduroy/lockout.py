"""Failed logins are rationed: CouchDB 3.4 locks an account after a few of them.

With ``[chttpd_auth_lockout]`` (on by default in 3.4), the 6th failed login for
one user from one client address within 5 minutes locks that user from that
address for about 5 minutes: every request with that name then gets ``403
forbidden: Account is temporarily locked ...``, even with the right password
(corduroy raises it as :class:`~corduroy.errors.AccountLocked`). Basic and
``_session`` failures share the count.

So once the server refused a client's credentials (a failed ``POST /_session``,
or a Basic request answered "Name or password is incorrect"), sending them
again only adds to the count: a :class:`Refusal` remembers the answer and, for
:data:`REFUSAL_HOLD` seconds, gives a copy of it to raise instead of sending.
Pure bookkeeping: the connection does the sending.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from .errors import HTTPError
from .http.messages import Response

__all__ = ["REFUSAL_HOLD", "Refusal", "refuses_credentials"]

#: seconds refused credentials are not sent again; CouchDB 3.4's lockout lasts 300 s
REFUSAL_HOLD = 300.0

#: the reasons CouchDB (and pouchdb-server) give when the credentials themselves are refused
_REASONS = ("Name or password is incorrect", "Account is temporarily locked")


def refuses_credentials(response: Response) -> bool:
    """Is this 401/403 about the credentials (not about a permission)?"""
    if response.status not in (401, 403):
        return False
    try:
        body: Any = response.json()
    except ValueError:
        return False
    reason = body.get("reason") if isinstance(body, dict) else None
    return isinstance(reason, str) and reason.startswith(_REASONS)


class Refusal:
    """The last refusal of a client's credentials, while it holds (thread-safe)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._error: HTTPError | None = None
        self._at = 0.0

    def hold(self, error: HTTPError) -> None:
        """The server refused the credentials with ``error``."""
        with self._lock:
            self._error, self._at = error, self.clock()

    def again(self) -> HTTPError | None:
        """A copy of the refusal to raise instead of sending, or ``None`` once it lapsed."""
        if self._error is None:  # the usual case, on every request: no lock needed
            return None
        with self._lock:
            error = self._error
            if error is None:
                return None
            if self.clock() - self._at >= REFUSAL_HOLD:
                self._error = None
                return None
        copy = type(error)(
            error.status, error.error, error.reason,
            method=error.method, url=error.url, body=error.body, headers=error.headers,
        )  # fmt: skip
        copy.add_note(
            "corduroy did not send the credentials again: the server refused them less than "
            f"{REFUSAL_HOLD:.0f} s ago, and each failed login counts towards its lockout"
        )
        return copy
