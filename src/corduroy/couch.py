"""``Couch``: one CouchDB server."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from .api.couch_admin import CouchAdminMethods
from .api.couch_replication import CouchReplicationMethods
from .config import defaults
from .connection import Connection, ServerUrl, parse_server_url
from .document import Document
from .drivers import Callback, dispatch
from .errors import InvalidInput
from .http.config import HTTPConfig
from .ops import server as server_ops
from .ops.base import Op

if TYPE_CHECKING:
    from .database import Database

__all__ = ["Couch"]

T = TypeVar("T")


class _Unset:
    """Marks an argument that was not given (``None`` means "no timeout")."""


_UNSET = _Unset()


def _resolve_url(url: str | None) -> str:
    """Fill in what a url leaves out from ``corduroy.defaults``.

    ``None`` or ``""`` is the default server; ``http://user:pass@`` keeps the
    credentials and takes the default host and port.
    """
    if not url:
        return defaults.server_url()
    if "://" not in url:
        url = f"{defaults.scheme}://{url}"
    parts = urlsplit(url)
    if not parts.hostname:
        base = urlsplit(defaults.server_url())
        host = base.netloc.rpartition("@")[2]
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@{host}" if userinfo else base.netloc
        url = urlunsplit((parts.scheme, netloc, parts.path or base.path, "", ""))
    return url


class Couch(CouchAdminMethods, CouchReplicationMethods):
    """A CouchDB server.

    ``Couch()`` uses ``corduroy.defaults`` (or ``COUCHDB_URL``); ``Couch(url)``
    takes a server url, with credentials inline (``http://user:pass@host:5984``)
    or as ``auth=(user, password)``. Creating one never connects.

    Every method takes ``callback=`` and follows the three calling conventions
    (blocking, callback, awaitable inside a running event loop).
    """

    def __init__(
        self,
        url: str | None = None,
        auth: tuple[str, str] | None = None,
        *,
        connect_timeout: float | None = None,
        read_timeout: float | _Unset | None = _UNSET,
        ssl_context: ssl.SSLContext | None = None,
        headers: Sequence[tuple[str, str]] = (),
        document_class: type[Document] = Document,
    ) -> None:
        parsed = parse_server_url(_resolve_url(url))
        if auth is not None:
            if not (isinstance(auth, tuple | list) and len(auth) == 2):
                raise InvalidInput("auth must be a (username, password) tuple")
            parsed = ServerUrl(parsed.base, str(auth[0]), str(auth[1]))
        config = HTTPConfig(
            connect_timeout=(
                defaults.connect_timeout if connect_timeout is None else connect_timeout
            ),
            read_timeout=(
                defaults.read_timeout if isinstance(read_timeout, _Unset) else read_timeout
            ),
        )
        if ssl_context is not None:
            config.ssl_context = ssl_context
        self._conn = Connection(parsed, config, headers)
        self._uuids = server_ops.UuidCache()
        self.document_class = document_class
        self._dbs: dict[str, Database] = {}
        self._dbs_lock = threading.Lock()

    @property
    def url(self) -> str:
        """The server url, without credentials."""
        return self._conn.base_url

    def _run(self, op: Op[T], callback: Callback | None) -> T:
        # Typed as the blocking result; see drivers.dispatch for the other conventions.
        result: T = dispatch(op, self._conn, callback)
        return result

    def __repr__(self) -> str:
        return f"<Couch {self.url!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Couch) and other._conn.url == self._conn.url

    def __hash__(self) -> int:
        return hash(self._conn.url)

    def __getitem__(self, name: str) -> Database:
        """A ``Database`` object for ``name`` (no request is made)."""
        from .database import Database

        with self._dbs_lock:
            db = self._dbs.get(name)
            if db is None:
                db = self._dbs[name] = Database(name, couch=self)
            return db

    def close(self) -> None:
        """Close the pooled blocking connections (they reopen when needed)."""
        self._conn.close()

    def __enter__(self) -> Couch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def db_url(self, name: str) -> str:
        """The url of database ``name`` (no credentials)."""
        return self.url + quote(name, safe="")


_shared: dict[tuple[str, ServerUrl], Couch] = {}
_shared_lock = threading.Lock()


def shared_couch(url: str | None) -> Couch:
    """One ``Couch`` per server url, shared by the ``Database`` objects made from urls."""
    resolved = _resolve_url(url)
    key = (resolved, parse_server_url(resolved))
    with _shared_lock:
        couch = _shared.get(key)
        if couch is None:
            couch = _shared[key] = Couch(resolved)
        return couch
