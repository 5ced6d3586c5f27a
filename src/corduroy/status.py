"""``Status``: what a callback learns about how its request went."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import CouchError, HTTPError
from .http.messages import Headers, Response

__all__ = ["Status"]


@dataclass(frozen=True, slots=True)
class Status:
    """The outcome of a call, passed to callbacks as ``callback(data, status)``.

    ``ok`` is true when the call succeeded; then ``exception`` and ``error`` are
    ``None``. Otherwise ``exception`` is the exception the blocking call would
    have raised and ``error`` its class, so that ``status.error is NotFound``
    reads naturally. ``code``, ``headers`` and ``body`` describe the last HTTP
    response received (``code`` is 0 when none arrived, e.g. connection refused).
    """

    ok: bool
    code: int = 0
    headers: Headers = field(default_factory=Headers)
    exception: BaseException | None = None
    error: type[BaseException] | None = None
    _body: Any = None
    #: a successful response whose body is decoded when ``body`` is first read
    _response: Response | None = field(default=None, compare=False, repr=False)

    @property
    def body(self) -> Any:
        """The last response's body: decoded JSON, else bytes (``None`` if streamed)."""
        response = self._response
        if response is not None:  # decoded on first read: most callbacks never look
            object.__setattr__(self, "_body", _decoded(response))
            object.__setattr__(self, "_response", None)
        return self._body

    @classmethod
    def success(cls, response: Response | None) -> Status:
        if response is None:
            return cls(True)
        return cls(True, response.status, response.headers, _response=response)

    @classmethod
    def failure(cls, exc: BaseException, response: Response | None) -> Status:
        if isinstance(exc, HTTPError):
            return cls(False, exc.status, exc.headers or Headers(), exc, type(exc), exc.body)
        code = response.status if response is not None and not isinstance(exc, CouchError) else 0
        headers = response.headers if code and response is not None else Headers()
        return cls(False, code, headers, exc, type(exc))

    def __repr__(self) -> str:
        if self.ok:
            return f"<Status ok {self.code}>"
        return f"<Status {self.code} {self.error.__name__ if self.error else ''}: {self.exception}>"


def _decoded(response: Response) -> Any:
    if response.stream is not None:
        return None
    # data, not body: a large answer is a bytearray, and body would copy it to look at one byte
    if "json" in response.content_type or response.data[:1] in (b"{", b"["):
        try:
            return response.json()
        except ValueError:
            pass
    return response.body
