"""Server administration on ``Couch``: config, stats, health, users, sessions, membership."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..drivers import Callback
from ..ops import admin as ops
from .server import ServerMethods

if TYPE_CHECKING:
    from ..connection import Connection
    from ..document import AttrDict, Document


class CouchAdminMethods(ServerMethods):
    """Mixed into ``Couch``."""

    _admin: ops.AdminState
    _conn: Connection

    def config(
        self,
        name: str | Sequence[str] | None = None,
        value: Any = None,
        delete: bool = False,
        *,
        callback: Callback | None = None,
    ) -> Any:
        """Read or change the server's configuration (server admins only).

        ``config()`` is everything (``{section: {key: value}}``),
        ``config("couchdb")`` one section, ``config("couchdb/max_document_size")``
        one value. ``config("section/key", "value")`` sets a key and
        ``config("section/key", delete=True)`` removes it; both return the
        previous value. Values are strings. Works on CouchDB 2+
        (``/_node/_local/_config``) and 1.x-style servers (``/_config``).
        """
        return self._run(ops.config(self._admin, name, value, delete), callback, "Couch.config")

    def stats(
        self, name: str | Sequence[str] | None = None, *, callback: Callback | None = None
    ) -> Any:
        """Server statistics: all, or one group/metric (``"couchdb/request_time"``)."""
        return self._run(ops.stats(self._admin, name), callback, "Couch.stats")

    def up(self, *, callback: Callback | None = None) -> bool:
        """Whether the server is up and not in maintenance (``GET /_up``)."""
        return self._run(ops.up(), callback, "Couch.up")

    def membership(self, *, callback: Callback | None = None) -> AttrDict:
        """The cluster's nodes: ``all_nodes`` and ``cluster_nodes``."""
        return self._run(ops.membership(), callback, "Couch.membership")

    def session(self, *, callback: Callback | None = None) -> AttrDict:
        """Who the server thinks you are: ``userCtx.name``, ``userCtx.roles``, ``info``."""
        return self._run(ops.session(), callback, "Couch.session")

    def logout(self, *, callback: Callback | None = None) -> None:
        """End the cookie session. A later call logs in again if the ``Couch`` has credentials."""
        return self._run(ops.logout(), callback, "Couch.logout")

    def create_user(
        self,
        name: str,
        password: str,
        roles: Iterable[str] = (),
        *,
        callback: Callback | None = None,
    ) -> Document:
        """Create user ``name`` (``org.couchdb.user:NAME`` in ``_users``).

        Returns the user document, without the password; ``Conflict`` if the
        user exists.
        """
        return self._run(ops.create_user(name, password, roles), callback, "Couch.create_user")

    def node_health(self) -> list[dict[str, Any]]:
        """What this ``Couch`` knows of its nodes, without asking them (no request).

        One ``{"url", "healthy", "failures"}`` per node url given to ``Couch``;
        a node is marked unhealthy when a request to it failed and healthy again
        once a health check (``/_up``) succeeds.
        """
        nodes = self._conn.nodes
        if nodes is None:
            return [{"url": self._conn.base_url, "healthy": True, "failures": 0}]
        return nodes.health()
