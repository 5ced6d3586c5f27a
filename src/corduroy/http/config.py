"""Settings shared by the blocking and the asyncio transport."""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

__all__ = ["HTTPConfig", "Origin"]


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
