"""``corduroy.defaults``: where a ``Couch`` or ``Database`` connects when not told.

The default server url is, in order: ``defaults.url`` if set, the
``COUCHDB_URL`` environment variable (credentials in it, or in
``COUCHDB_USER`` / ``COUCHDB_PASSWORD``), else ``scheme://host:port/``.
"""

from __future__ import annotations

import os
from urllib.parse import quote, urlsplit, urlunsplit

from .http.jsonexact import GC_PAUSE

__all__ = ["Defaults", "defaults"]


class Defaults:
    """Mutable module-wide defaults (``corduroy.defaults``)."""

    def __init__(self) -> None:
        self.scheme = "http"
        self.host = "127.0.0.1"
        self.port = 5984
        #: an explicit default server url; overrides everything else when set
        self.url: str | None = None
        #: seconds to wait for a connection to open
        self.connect_timeout: float = 10.0
        #: seconds to wait for each read of an answer (None: wait forever)
        self.read_timeout: float | None = 60.0

    @property
    def pause_gc(self) -> bool:
        """Pause Python's garbage collector while decoding a large answer (64 KiB+).

        About 3x faster on a 17 MB answer, but the collector is process-wide:
        every thread's allocations go uncollected meanwhile. Off by default.
        """
        return GC_PAUSE.enabled

    @pause_gc.setter
    def pause_gc(self, value: bool) -> None:
        GC_PAUSE.enabled = bool(value)

    def server_url(self) -> str:
        """The default server url, credentials included if configured."""
        if self.url:
            return self.url
        env = os.environ.get("COUCHDB_URL")
        if env:
            return with_env_credentials(env)
        return f"{self.scheme}://{self.host}:{self.port}/"

    def __repr__(self) -> str:
        return (
            f"<defaults scheme={self.scheme!r} host={self.host!r} port={self.port!r} "
            f"url={'set' if self.url else None}>"
        )


def with_env_credentials(url: str) -> str:
    """Put ``COUCHDB_USER``/``COUCHDB_PASSWORD`` into ``url`` when it has no credentials."""
    user = os.environ.get("COUCHDB_USER")
    if not user:
        return url
    parts = urlsplit(url)
    if parts.username is not None:
        return url
    password = os.environ.get("COUCHDB_PASSWORD", "")
    netloc = f"{quote(user, safe='')}:{quote(password, safe='')}@{parts.netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


defaults = Defaults()
