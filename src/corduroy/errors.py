"""corduroy's exceptions, in one tree::

    CouchError
     +-- HTTPError                the server answered with an error status
     |    +-- BadRequest            400
     |    +-- Unauthorized          401
     |    +-- Forbidden             403
     |    |    +-- AccountLocked      403, too many failed logins (CouchDB 3.4+)
     |    +-- NotFound              404  (also a KeyError)
     |    +-- MethodNotAllowed      405
     |    +-- NotAcceptable         406
     |    +-- Conflict              409
     |    +-- PreconditionFailed    412
     |    +-- RequestEntityTooLarge 413
     |    +-- UnsupportedMediaType  415
     |    +-- RangeNotSatisfiable   416
     |    +-- ExpectationFailed     417
     |    +-- TooManyRequests       429
     |    +-- ServerError           5xx
     +-- TransportError           no (complete) answer: connect failed, timeout, dropped
     |    +-- ConnectError
     |    +-- Timeout
     |    +-- ConnectionDropped
     +-- InvalidInput             refused before anything was sent (also a ValueError)

Status codes map to classes through a registry filled by ``__init_subclass__``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = [
    "AccountLocked",
    "BadRequest",
    "Conflict",
    "ConnectError",
    "ConnectionDropped",
    "CouchError",
    "ExpectationFailed",
    "Forbidden",
    "HTTPError",
    "InvalidInput",
    "MethodNotAllowed",
    "NotAcceptable",
    "NotFound",
    "NotJSON",
    "PreconditionFailed",
    "RangeNotSatisfiable",
    "RequestEntityTooLarge",
    "ServerError",
    "Timeout",
    "TooManyRequests",
    "TransportError",
    "Unauthorized",
    "UnsupportedMediaType",
    "error_class_for",
]

_by_code: dict[int, type[HTTPError]] = {}


class CouchError(Exception):
    """Base of every exception corduroy raises."""


class InvalidInput(CouchError, ValueError):
    """An argument was refused before any request was sent."""


class NotJSON(InvalidInput, TypeError):
    """A value JSON cannot hold faithfully (``datetime``, ``UUID``, ``Decimal``,
    ``set``, ``bytes``, a dataclass, a non-str key...) was refused before sending.

    Both an ``InvalidInput`` and a ``TypeError`` (what ``json.dumps`` raises);
    ``Couch(json_default=fn)`` converts such values instead.
    """


class TransportError(CouchError):
    """The request got no complete answer (connect failed, timeout, connection dropped)."""

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        self.method = method
        self.url = url
        self.message = message
        where = f" ({method} {url})" if method else ""
        super().__init__(message + where)

    def __reduce__(self) -> Any:
        fields = {"method": self.method, "url": self.url}
        return (_rebuild_transport, (type(self), self.message, fields), self.__dict__)


def _rebuild_transport(
    cls: type[TransportError], message: str, fields: dict[str, Any]
) -> TransportError:
    return cls(message, **fields)


class ConnectError(TransportError):
    """The connection could not be opened."""


class Timeout(TransportError):
    """Connecting or waiting for the answer took longer than the timeout."""


class ConnectionDropped(TransportError):
    """The server closed the connection before the whole answer arrived.

    ``may_resend`` is False when the ``Couch`` was made with retries off: then
    not even a write that is safe to repeat (its document id chosen by the
    client) is sent again.
    """

    may_resend: bool = True


class HTTPError(CouchError):
    """The server answered with an error status.

    ``code`` (also ``status``) is the HTTP status of this answer (``ServerError``
    covers every 5xx, so its ``code`` may be 503), ``error`` and ``reason`` come
    from CouchDB's JSON body, ``method`` and ``url`` (credentials redacted) name
    the request, ``headers`` are the response's, and ``body`` is the decoded body.
    On the class, ``code`` is the status the class stands for (``NotFound.code``).
    """

    code: int = 0

    def __init_subclass__(cls, code: int | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
            _by_code[code] = cls

    def __init__(
        self,
        status: int = 0,
        error: str | None = None,
        reason: str | None = None,
        *,
        method: str = "",
        url: str = "",
        body: Any = None,
        headers: Any = None,
    ) -> None:
        self.status = self.code = status or type(self).code
        self.error = error
        self.reason = reason
        self.method = method
        self.url = url
        self.body = body
        self.headers = headers
        super().__init__(self._message())

    def _message(self) -> str:
        what = ": ".join(str(part) for part in (self.error, self.reason) if part)
        where = f" ({self.method} {self.url})" if self.method else ""
        return f"{self.status} {what or 'error'}{where}"

    def __str__(self) -> str:
        return self._message()

    def __reduce__(self) -> Any:
        fields = {"method": self.method, "url": self.url, "body": self.body}
        fields["headers"] = _without_cookies(self.headers)
        return (_rebuild, (type(self), self.status, self.error, self.reason, fields))


def _without_cookies(headers: Any) -> Any:
    """``headers`` (of the same type) without ``Set-Cookie``: a session must not travel."""
    if not isinstance(headers, Mapping):
        return headers
    make: Any = type(headers)  # corduroy.http.Headers, or a dict
    return make([(k, v) for k, v in headers.items() if k.lower() != "set-cookie"])


def _rebuild(
    cls: type[HTTPError], status: int, error: Any, reason: Any, fields: dict[str, Any]
) -> HTTPError:
    return cls(status, error, reason, **fields)


class BadRequest(HTTPError, code=400):
    """400: the request was malformed (bad JSON, a bad option, an illegal id)."""


class Unauthorized(HTTPError, code=401):
    """401: credentials missing or wrong."""


class Forbidden(HTTPError, code=403):
    """403: not allowed (also a ``validate_doc_update`` rejection)."""


#: CouchDB 3.4's answer once ``[chttpd_auth_lockout]`` locked an account
LOCKOUT_REASON = "Account is temporarily locked due to multiple authentication failures"


class AccountLocked(Forbidden):
    """403: the server locked the account for this client address after repeated
    failed logins (CouchDB 3.4+, ``[chttpd_auth_lockout]``).

    Every request with that name from this address is refused, even with the
    right password, until the lock lifts (5 minutes by default). Sending more
    logins meanwhile does not help: wait, or use a session cookie obtained before.
    """

    def _message(self) -> str:
        where = f" ({self.method} {self.url})" if self.method else ""
        return (
            f"{self.status} account locked: the server refuses this account from this "
            "address after repeated failed logins; it unlocks by itself after a few "
            f"minutes (CouchDB [chttpd_auth_lockout]){where}"
        )


class NotFound(HTTPError, KeyError, code=404):
    """404: no such database, document, attachment or design function."""

    def __str__(self) -> str:  # KeyError would quote the message
        return self._message()


class MethodNotAllowed(HTTPError, code=405):
    """405: the endpoint does not take this method."""


class NotAcceptable(HTTPError, code=406):
    """406: the server cannot answer in an accepted format."""


class Conflict(HTTPError, code=409):
    """409: the document's ``_rev`` is not the current one.

    Raised by saving one document, it carries the save's ``ConflictResolution``
    as ``resolution``, so the save can be finished from the exception:
    ``exc.pending`` (the conflicted document by ``_id``), ``exc.resolved``,
    ``exc.resolve(merge)`` and ``exc.overwrite()`` (see ``ConflictResolution``).
    """

    #: the ``ConflictResolution`` of the save that conflicted (``None`` for other calls)
    resolution: Any = None

    @property
    def pending(self) -> dict[str, Any]:
        """The documents left unwritten by the save, by ``_id`` (empty for other calls)."""
        return self.resolution.pending if self.resolution is not None else {}

    @property
    def resolved(self) -> dict[str, Any]:
        """The documents the save wrote, by ``_id`` (after ``resolve``/``overwrite``)."""
        return self.resolution.resolved if self.resolution is not None else {}

    def _resolution(self) -> Any:
        if self.resolution is None:
            raise InvalidInput("this Conflict did not come from save(): nothing to resolve")
        return self.resolution

    def resolve(self, merge: Any, callback: Any = None, **options: Any) -> Any:
        """``resolution.resolve(merge)``: merge with the server's copy and write again."""
        return self._resolution().resolve(merge, callback, **options)

    def overwrite(self, callback: Any = None, **options: Any) -> Any:
        """``resolution.overwrite()``: write your version over the server's."""
        return self._resolution().overwrite(callback, **options)


class PreconditionFailed(HTTPError, code=412):
    """412: the database exists already (or another precondition failed)."""


class RequestEntityTooLarge(HTTPError, code=413):
    """413: the document or request is larger than the server accepts."""


class UnsupportedMediaType(HTTPError, code=415):
    """415: wrong Content-Type for the endpoint."""


class RangeNotSatisfiable(HTTPError, code=416):
    """416: the requested byte range is outside the attachment."""


class ExpectationFailed(HTTPError, code=417):
    """417: e.g. ``all_or_nothing`` on CouchDB 2+."""


class TooManyRequests(HTTPError, code=429):
    """429: rate limited (hosted CouchDB)."""


class ServerError(HTTPError, code=500):
    """5xx: the server failed."""


def error_class_for(status: int, reason: str | None = None) -> type[HTTPError]:
    """The exception class for an HTTP error status (any 5xx is ``ServerError``).

    ``reason`` (from the JSON body) picks a finer class where the status alone
    is ambiguous: CouchDB's account lockout 403 is :class:`AccountLocked`.
    """
    if status == 403 and reason is not None and reason.startswith("Account is temporarily locked"):
        return AccountLocked
    cls = _by_code.get(status)
    if cls is not None:
        return cls
    if status >= 500:
        return ServerError
    return HTTPError
