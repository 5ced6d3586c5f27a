"""Settings and scaffolding shared by the blocking and the asyncio transport."""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from time import perf_counter
from urllib.parse import urlsplit

from corduroy.http.messages import Request
from corduroy.http.wire import RequestSerializer

__all__ = ["HTTPConfig", "Origin", "TransportBase"]


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
    pouchdb-server drops idle connections after 5 s.
    """

    connect_timeout: float | None = 10.0
    read_timeout: float | None = 60.0
    ssl_context: ssl.SSLContext | None = None
    max_connections: int = 10
    keepalive_expiry: float = 4.0
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

    @staticmethod
    def _started() -> float:
        return perf_counter() if _log.isEnabledFor(logging.DEBUG) else 0.0

    def _log(self, request: Request, status: int, started: float) -> None:
        """The one DEBUG line per request (never headers: they carry credentials)."""
        ms = (perf_counter() - started) * 1000
        url = self.origin.url + request.target
        _log.debug("%s %s %d %.1fms", request.method, url, status, ms)
