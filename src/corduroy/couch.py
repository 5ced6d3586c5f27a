"""``Couch``: one CouchDB server."""

from __future__ import annotations

import ssl
import threading
import warnings
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from .api.couch_admin import CouchAdminMethods
from .api.couch_replication import CouchReplicationMethods
from .auth import Auth, BasicAuth, JWTAuth, SessionAuth, TokenSupplier
from .closing import Closing
from .config import defaults
from .connection import Connection, ServerUrl, make_ssl_context, parse_server_url
from .document import Document
from .drivers import Callback, blocking_only, dispatch
from .errors import InvalidInput
from .http.config import HTTPConfig, as_policy
from .http.retry import RetryPolicy
from .ops import server as server_ops
from .ops.admin import AdminState
from .ops.base import Op

if TYPE_CHECKING:
    from ._calls import CouchCalls  # the callback= overloads (tools/gen_surface.py)
    from .database import Database
else:

    class CouchCalls:
        pass


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


# The mixins are typed for the blocking convention; CouchCalls, first, adds to each
# request method an overload for callback= (returning the RequestReplica).
class Couch(CouchCalls, CouchAdminMethods, CouchReplicationMethods, Closing):  # type: ignore[misc]
    """A CouchDB server.

    ``Couch()`` uses ``corduroy.defaults`` (or ``COUCHDB_URL``); ``Couch(url)``
    takes a server url, with credentials inline (``http://user:pass@host:5984``)
    or as ``auth=(user, password)``. Creating one never connects.

    Every method takes ``callback=`` and follows the three calling conventions
    (blocking, callback, awaitable inside a running event loop).
    """

    #: The class of the databases ``couch[name]`` hands out. ``corduroy.database`` sets
    #: it to ``Database`` when it is imported (it imports this module, not the reverse).
    database_class: ClassVar[type[Database]]

    def __init__(
        self,
        url: str | Sequence[str] | None = None,
        auth: tuple[str, str] | Auth | None = None,
        *,
        session: bool = False,
        token: str | TokenSupplier | None = None,
        connect_timeout: float | None = None,
        read_timeout: float | _Unset | None = _UNSET,
        ssl_context: ssl.SSLContext | None = None,
        ca_file: str | None = None,
        cert: str | tuple[str, str] | None = None,
        verify: bool = True,
        headers: Sequence[tuple[str, str]] = (),
        document_class: type[Document] = Document,
        probe_interval: float = 2.0,
        retry: RetryPolicy | bool = True,
        max_connections: int = 10,
        full_commit: bool | None = None,
        json_default: Callable[[Any], Any] | None = None,
    ) -> None:
        """See the class docstring; docs/auth.md and docs/clusters.md say more.

        ``auth``: ``(user, password)`` (Basic, or a cookie session with
        ``session=True``) or a scheme from ``corduroy.auth`` (``ProxyAuth``, ...).
        ``token``: a JWT, or a callable returning a fresh one. ``ca_file``,
        ``cert`` (PEM path or ``(cert, key)``) and ``verify`` set up TLS unless
        an ``ssl_context`` is given. A list of urls is the nodes of one cluster.
        ``retry``: a ``corduroy.http.RetryPolicy``, or ``False`` for no retries
        (docs/reliability.md). ``max_connections``: keep-alive connections per
        server, shared by all threads for blocking calls and per event loop for
        async ones; more concurrent calls wait for one (up to ``connect_timeout``).
        ``json_default``: called with each value JSON cannot hold faithfully
        (``datetime``, ``Decimal``, ``set``, ...; refused otherwise) to return
        what to send instead. ``full_commit`` is accepted for code written for
        the original corduroy and ignored, with a ``DeprecationWarning``
        (CouchDB 2+ ignores the ``X-Couch-Full-Commit`` header).
        """
        if full_commit is not None:
            warnings.warn(
                "Couch(full_commit=...) does nothing: CouchDB 2+ ignores X-Couch-Full-Commit "
                "and commits every write; leave the argument out",
                DeprecationWarning,
                stacklevel=2,
            )
        if json_default is not None and not callable(json_default):
            raise InvalidInput(f"json_default must be a function, not {json_default!r}")
        self.json_default = json_default
        if type(max_connections) is not int or max_connections < 1:
            raise InvalidInput(
                f"max_connections must be an int of at least 1, not {max_connections!r}"
            )
        raw_urls = [url] if url is None or isinstance(url, str) else list(url)
        if not raw_urls:
            raise InvalidInput("Couch needs a server url (or a non-empty list of node urls)")
        urls = [parse_server_url(_resolve_url(one)) for one in raw_urls]
        parsed = urls[0]
        chosen: Auth | None = None
        if isinstance(auth, Auth):
            chosen = auth
            if session:
                raise InvalidInput("session=True goes with auth=(user, password)")
        elif auth is not None:
            if not (isinstance(auth, tuple | list) and len(auth) == 2):
                raise InvalidInput("auth must be a (username, password) tuple or an Auth")
            user, password = str(auth[0]), str(auth[1])
            chosen = SessionAuth(user, password) if session else BasicAuth(user, password)
        elif session:
            if parsed.username is None:
                raise InvalidInput("session=True needs credentials: auth=(user, pw) or in the url")
            chosen = SessionAuth(parsed.username, parsed.password or "")
        if token is not None:
            if chosen is not None:
                raise InvalidInput("give either token= or auth=, not both")
            chosen = JWTAuth(token)
        if chosen is not None:  # the auth object is the one place that sends credentials
            urls = [ServerUrl(u.base) for u in urls]
            if chosen.username is not None:  # but two users' Couches are not equal
                urls[0] = ServerUrl(urls[0].base, chosen.username, chosen.password)
        config = HTTPConfig(
            connect_timeout=(
                defaults.connect_timeout if connect_timeout is None else connect_timeout
            ),
            read_timeout=(
                defaults.read_timeout if isinstance(read_timeout, _Unset) else read_timeout
            ),
            retry=as_policy(retry),
            max_connections=max_connections,
        )
        if ssl_context is not None:
            config.ssl_context = ssl_context
        elif ca_file is not None or cert is not None or not verify:
            config.ssl_context = make_ssl_context(ca_file, cert, verify)
        self._conn = Connection(urls, config, headers, auth=chosen, probe_interval=probe_interval)
        self._uuids = server_ops.UuidCache()
        self._admin = AdminState()
        self.document_class = document_class
        self._dbs: dict[str, Database] = {}
        self._dbs_lock = threading.Lock()

    @property
    def url(self) -> str:
        """The server url, without credentials."""
        return self._conn.base_url

    def _run(self, op: Op[T], callback: Callback | None, call: str) -> T:
        # Typed as the blocking result; see drivers.dispatch for the other conventions.
        result: T = dispatch(op, self._conn, callback, call)
        return result

    def __repr__(self) -> str:
        return f"<Couch {self.url!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Couch) and other._conn.url == self._conn.url

    def __hash__(self) -> int:
        return hash(self._conn.url)

    def __getitem__(self, name: str) -> Database:
        """A ``Database`` object for ``name`` (no request is made)."""
        with self._dbs_lock:
            db = self._dbs.get(name)
            if db is None:
                db = self._dbs[name] = self.database_class(name, couch=self)
            return db

    def __contains__(self, name: object) -> bool:
        """``name in couch``: whether database ``name`` exists (a blocking ``HEAD``)."""
        blocking_only("name in couch")
        if not isinstance(name, str):
            return False
        try:
            return bool(self._run(server_ops.db_exists(name), None, "Couch.__contains__"))
        except InvalidInput:  # not a name a database can have
            return False

    def __iter__(self) -> Iterator[str]:
        """The names of all databases (blocking; ``all_dbs`` in other conventions)."""
        blocking_only("iterating over a Couch")
        return iter(self.all_dbs())

    def __len__(self) -> int:
        """How many databases the server has (blocking; ``len(await couch.all_dbs())``)."""
        blocking_only("len(couch)")
        return len(self.all_dbs())

    def __bool__(self) -> bool:
        """Always true: no hidden request (``couch.up()`` asks whether the server is up)."""
        return True

    def close(self) -> None:
        """Close every pooled connection of this server, blocking and on every event loop.

        The ``Couch`` stays usable: connections reopen when needed.
        """
        self._conn.close()

    async def aclose(self) -> None:
        """``close()``, awaited: the running loop's sockets are closed when it returns."""
        await self._conn.aclose()

    def db_url(self, name: str) -> str:
        """The url of database ``name`` (no credentials)."""
        return self.url + quote(name, safe="")


#: the shared Couches most recently asked for, at most _SHARED_MAX (oldest first)
_SHARED_MAX = 16
_shared: OrderedDict[tuple[str, ServerUrl], Couch] = OrderedDict()
#: every shared Couch still in use somewhere (a Database holds its Couch)
_shared_alive: weakref.WeakValueDictionary[tuple[str, ServerUrl], Couch] = (
    weakref.WeakValueDictionary()
)
_shared_lock = threading.Lock()


def shared_couch(url: str | None) -> Couch:
    """One ``Couch`` per server url, shared by the ``Database`` objects made from urls.

    The 16 most recently used are kept; older ones live as long as a
    ``Database`` uses them, with their idle connections closed.
    """
    resolved = _resolve_url(url)
    key = (resolved, parse_server_url(resolved))
    with _shared_lock:
        couch = _shared.get(key)
        if couch is not None:
            _shared.move_to_end(key)
            return couch
        couch = _shared_alive.get(key)
        if couch is None:
            couch = _shared_alive[key] = Couch(resolved)
        _shared[key] = couch
        evicted = _shared.popitem(last=False)[1] if len(_shared) > _SHARED_MAX else None
    if evicted is not None:
        evicted.close()
    return couch
