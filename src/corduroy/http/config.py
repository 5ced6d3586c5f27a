"""Settings and scaffolding shared by the blocking and the asyncio transport."""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import monotonic, perf_counter
from urllib.parse import urlsplit

from corduroy.errors import ConnectError, ConnectionDropped, Timeout, TransportError
from corduroy.http.messages import Request, Response
from corduroy.http.retry import NO_RETRY, Failure, RetryPolicy
from corduroy.http.wire import RequestSerializer

__all__ = [
    "DEFAULT_RETRY",
    "HTTPConfig",
    "Origin",
    "TransportBase",
    "call_options",
    "failure_kind",
    "tag_failure",
]

#: the retry policy of a ``Couch`` unless told otherwise
DEFAULT_RETRY = RetryPolicy()


@dataclass(slots=True)
class HTTPConfig:
    """Timeouts, TLS and pool limits of one transport.

    ``connect_timeout`` bounds opening a connection (TCP and TLS handshake) and
    waiting for a free pool slot; ``read_timeout`` bounds each wait for bytes
    from the server (``None``: wait forever; ``Request.timeout`` overrides it).
    ``ssl_context`` defaults to ``ssl.create_default_context()`` (certificate
    and host name verification on), made on first use. ``max_connections`` is
    per origin (per event loop for the asyncio transport). Connections idle for
    longer than ``keepalive_expiry`` seconds are closed instead of reused:
    pouchdb-server drops idle connections after 5 s. ``retry`` is the
    :class:`~corduroy.http.retry.RetryPolicy` (``NO_RETRY`` to turn retries off).
    """

    connect_timeout: float | None = 10.0
    read_timeout: float | None = 60.0
    ssl_context: ssl.SSLContext | None = None
    max_connections: int = 10
    keepalive_expiry: float = 4.0
    retry: RetryPolicy = DEFAULT_RETRY
    _default_ssl: ssl.SSLContext | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        for name in ("connect_timeout", "read_timeout"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive or None")
        if self.keepalive_expiry < 0:
            raise ValueError("keepalive_expiry must not be negative")

    def get_ssl_context(self) -> ssl.SSLContext:
        """``ssl_context``, or a verifying default context created once."""
        if self.ssl_context is not None:
            return self.ssl_context
        if self._default_ssl is None:
            self._default_ssl = ssl.create_default_context()
        return self._default_ssl


@dataclass(frozen=True, slots=True)
class Origin:
    """The parts of a transport's ``base_url`` that the transports need."""

    tls: bool
    host: str
    port: int
    host_header: str
    base_path: str
    #: ``scheme://host[:port][/base/path]``, for messages and logs
    url: str

    @classmethod
    def parse(cls, base_url: str) -> Origin:
        parts = urlsplit(base_url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"not an http(s) url: {base_url!r}")
        if parts.username is not None or parts.password is not None:
            raise ValueError("the transport url must not contain credentials")
        host = parts.hostname
        if not host:
            raise ValueError(f"no host in {base_url!r}")
        tls = scheme == "https"
        default_port = 443 if tls else 80
        port = parts.port or default_port
        shown = f"[{host}]" if ":" in host else host
        host_header = shown if port == default_port else f"{shown}:{port}"
        base_path = parts.path.rstrip("/")
        return cls(tls, host, port, host_header, base_path, f"{scheme}://{host_header}{base_path}")


_log = logging.getLogger("corduroy.http")

_UNSET: object = object()
_timeout_override: ContextVar[float | object | None] = ContextVar(
    "corduroy_timeout", default=_UNSET
)
_retry_override: ContextVar[RetryPolicy | None] = ContextVar("corduroy_retry", default=None)


@contextlib.contextmanager
def call_options(
    *, timeout: float | object | None = _UNSET, retry: RetryPolicy | bool | None = None
) -> Iterator[None]:
    """Override the read timeout and/or retry policy of the calls made in a block.

    ``timeout`` (seconds, ``None`` for none) replaces ``read_timeout`` for every
    request of the calls made (and, for awaitables, awaited) inside the ``with``
    block, in this thread or task only; a feed's own heartbeat watchdog still
    wins. ``retry`` is a :class:`RetryPolicy`, ``False`` (no retries) or
    ``True`` (the default policy)::

        with call_options(timeout=2.0, retry=False):
            db.get("doc")
    """
    timeout_token = retry_token = None
    if timeout is not _UNSET:
        if timeout is not None and (not isinstance(timeout, int | float) or timeout <= 0):
            raise ValueError("timeout must be a positive number of seconds or None")
        timeout_token = _timeout_override.set(timeout)
    if retry is not None:
        retry_token = _retry_override.set(as_policy(retry))
    try:
        yield
    finally:
        if retry_token is not None:
            _retry_override.reset(retry_token)
        if timeout_token is not None:
            _timeout_override.reset(timeout_token)


_KIND = "_corduroy_failure"


def tag_failure(error: TransportError, kind: Failure | None) -> TransportError:
    """Note how ``error`` happened (``None``: never worth a retry)."""
    setattr(error, _KIND, kind)
    return error


def failure_kind(error: TransportError) -> Failure | None:
    """How the request failed: a tag set by the transport, else judged by the type."""
    if hasattr(error, _KIND):
        kind: Failure | None = getattr(error, _KIND)
        return kind
    if isinstance(error, ConnectError):
        if isinstance(error.__cause__, ssl.SSLCertVerificationError):
            return None  # trying again cannot help
        return Failure.CONNECT
    if isinstance(error, Timeout):
        return Failure.TIMEOUT
    return Failure.DROPPED


def as_policy(retry: RetryPolicy | bool) -> RetryPolicy:
    """``True`` is the default policy, ``False`` none, a policy itself."""
    if isinstance(retry, RetryPolicy):
        return retry
    if retry is True:
        return DEFAULT_RETRY
    if retry is False:
        return NO_RETRY
    raise TypeError(f"retry must be a RetryPolicy or a bool, not {type(retry).__name__}")


class TransportBase:
    """What both transports share: settings, origin, serialiser, error context, log line."""

    def __init__(
        self,
        base_url: str,
        config: HTTPConfig | None = None,
        default_headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.config = config if config is not None else HTTPConfig()
        self.origin = Origin.parse(base_url)
        self._serializer = RequestSerializer(
            self.origin.host_header, self.origin.base_path, default_headers
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.origin.url}>"

    def _where(self, request: Request) -> dict[str, str]:
        """``method`` and ``url`` keywords for a TransportError (no credentials in urls)."""
        return {"method": request.method, "url": self.origin.url + request.target}

    def _read_timeout(self, request: Request) -> float | None:
        """``Request.timeout``, else a ``call_options`` override, else ``read_timeout``."""
        if request.timeout is not None:
            return request.timeout
        override = _timeout_override.get()
        if override is not _UNSET:
            return override  # type: ignore[return-value]
        return self.config.read_timeout

    def _policy(self) -> RetryPolicy:
        return _retry_override.get() or self.config.retry

    def _retry_failure(
        self,
        policy: RetryPolicy,
        request: Request,
        error: TransportError,
        attempt: int,
        first: float,
    ) -> float | None:
        """The wait before a retry after ``error`` (logged), or ``None``.

        A ``ConnectionDropped`` given up on learns whether the operation may
        still send a write again itself: only when retries are on.
        """
        if isinstance(error, ConnectionDropped):
            error.may_resend = policy.enabled
        if not policy.enabled:
            return None
        failure = failure_kind(error)
        if failure is None:
            return None
        delay = policy.after_failure(request, failure, attempt, monotonic() - first)
        if delay is not None:
            self._warn(request, attempt, policy, delay, type(error).__name__)
        return delay

    def _retry_status(
        self, policy: RetryPolicy, request: Request, response: Response, attempt: int, first: float
    ) -> float | None:
        """The wait before a retry after a 429/502/503/504 answer (logged), or ``None``."""
        if response.status not in policy.statuses and response.status not in (
            policy.write_statuses
        ):
            return None
        delay = policy.after_status(
            request,
            response.status,
            response.headers.get("retry-after"),
            attempt,
            monotonic() - first,
        )
        if delay is not None:
            self._warn(request, attempt, policy, delay, str(response.status))
        return delay

    def _warn(
        self, request: Request, attempt: int, policy: RetryPolicy, delay: float, why: str
    ) -> None:
        _log.warning(
            "retrying %s %s after %s in %.2fs (attempt %d of %d)",
            request.method,
            self.origin.url + request.target,
            why,
            delay,
            attempt + 1,
            policy.attempts,
        )

    @staticmethod
    def _started() -> float:
        return perf_counter() if _log.isEnabledFor(logging.DEBUG) else 0.0

    def _log(self, request: Request, status: int, started: float) -> None:
        """The one DEBUG line per request (never headers: they carry credentials)."""
        ms = (perf_counter() - started) * 1000
        url = self.origin.url + request.target
        _log.debug("%s %s %d %.1fms", request.method, url, status, ms)

    def _log_stale(self, request: Request) -> None:
        _log.debug(
            "%s %s: the kept-alive connection was closed by the server, resending on a new one",
            request.method,
            self.origin.url + request.target,
        )

    def _log_failure(self, request: Request, error: BaseException, started: float) -> None:
        """The DEBUG line of a request that got no answer."""
        ms = (perf_counter() - started) * 1000
        url = self.origin.url + request.target
        _log.debug("%s %s failed (%s) %.1fms", request.method, url, type(error).__name__, ms)
