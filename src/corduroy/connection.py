"""``Connection``: how a ``Couch`` reaches its server (url, credentials, transports).

The drivers hand every request of an operation to a ``Connection``. It owns the
blocking and the asyncio transport (created on first use), adds the credentials,
and is the one place that knows the server's url. Credentials never leave it:
``redact`` is what every repr, log line and exception uses.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from .errors import InvalidInput
from .http.config import HTTPConfig
from .http.messages import Request, Response

if TYPE_CHECKING:
    from .http.async_pool import AsyncTransport
    from .http.sync_pool import SyncTransport

__all__ = ["Connection", "ServerUrl", "parse_server_url", "redact_url"]


@dataclass(frozen=True, slots=True)
class ServerUrl:
    """A server url split into the part that is shown and the credentials."""

    base: str  # scheme://host:port/prefix/ with a trailing slash, no credentials
    username: str | None = None
    password: str | None = None


def parse_server_url(url: str) -> ServerUrl:
    """Split ``http://user:pass@host:port/prefix`` into base url and credentials."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise InvalidInput(
            f"server url must start with http:// or https://, got {redact_url(url)!r}"
        )
    if not parts.hostname:
        raise InvalidInput(f"server url has no host: {redact_url(url)!r}")
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    base = urlunsplit((parts.scheme, netloc, path, "", ""))
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    return ServerUrl(base, username, password)


def redact_url(url: str) -> str:
    """``url`` with any password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable url>"
    if parts.password is None and "@" not in parts.netloc:
        return url
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user = userinfo.split(":", 1)[0]
    netloc = f"{user}:***@{hostport}" if user else f"***@{hostport}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def basic_auth_header(username: str, password: str) -> tuple[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return ("Authorization", "Basic " + token)


class Connection:
    """One server: its base url, credentials and the transports that reach it."""

    def __init__(
        self,
        url: ServerUrl,
        config: HTTPConfig | None = None,
        headers: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.url = url
        self.config = config or HTTPConfig()
        auth: list[tuple[str, str]] = []
        if url.username is not None:
            auth.append(basic_auth_header(url.username, url.password or ""))
        self._headers = tuple(auth) + tuple(headers)
        self._lock = threading.Lock()
        self._sync: SyncTransport | None = None
        self._async: AsyncTransport | None = None

    @property
    def base_url(self) -> str:
        """The server url without credentials."""
        return self.url.base

    @property
    def username(self) -> str | None:
        return self.url.username

    def url_for(self, request: Request) -> str:
        """The full url of ``request`` (never with credentials)."""
        return self.url.base + request.target.lstrip("/")

    def credentialed_url(self, path: str = "") -> str:
        """The url with credentials, for the server itself (replication bodies)."""
        if self.url.username is None:
            return self.url.base + path
        parts = urlsplit(self.url.base)
        user = quote(self.url.username, safe="")
        pw = quote(self.url.password or "", safe="")
        netloc = f"{user}:{pw}@{parts.netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", "")) + path

    def _sync_transport(self) -> SyncTransport:
        transport = self._sync
        if transport is None:
            from .http.sync_pool import SyncTransport

            with self._lock:
                if self._sync is None:
                    self._sync = SyncTransport(self.url.base, self.config, self._headers)
                transport = self._sync
        return transport

    def _async_transport(self) -> AsyncTransport:
        transport = self._async
        if transport is None:
            from .http.async_pool import AsyncTransport

            with self._lock:
                if self._async is None:
                    self._async = AsyncTransport(self.url.base, self.config, self._headers)
                transport = self._async
        return transport

    def send(self, request: Request) -> Response:
        """Send ``request`` and wait for the answer (blocking)."""
        return self._sync_transport().send(request)

    async def send_async(self, request: Request) -> Response:
        """Send ``request`` on the running event loop."""
        response: Response = await self._async_transport().send(request)
        return response

    def close(self) -> None:
        """Close pooled blocking connections (asyncio pools close with their loop)."""
        if self._sync is not None:
            self._sync.close()

    def __repr__(self) -> str:
        who = f" as {self.url.username!r}" if self.url.username else ""
        return f"<Connection {self.url.base!r}{who}>"

    def __reduce__(self) -> Any:
        raise TypeError("a Connection holds sockets and credentials and cannot be pickled")
