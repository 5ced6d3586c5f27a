"""Server-level methods of ``Couch``: databases, uuids, info, tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from ..drivers import Callback
from ..ops import server as ops
from ..ops.base import Op

if TYPE_CHECKING:
    from ..database import Database
    from ..document import AttrDict

T = TypeVar("T")


class ServerMethods:
    """Mixed into ``Couch``."""

    def _run(self, op: Op[T], callback: Callback | None, call: str) -> T:
        raise NotImplementedError

    def __getitem__(self, name: str) -> Database:
        raise NotImplementedError

    def info(self, *, callback: Callback | None = None) -> AttrDict:
        """The server's welcome object (``GET /``): version, vendor, features."""
        return self._run(ops.server_info(), callback, "Couch.info")

    def version(self, *, callback: Callback | None = None) -> str:
        """The server's version string."""

        def op() -> Op[str]:
            info = yield from ops.server_info()
            return str(info.get("version", ""))

        return self._run(op(), callback, "Couch.version")

    def all_dbs(self, *, callback: Callback | None = None, **options: Any) -> list[str]:
        """The names of all databases."""
        return self._run(ops.all_dbs(**options), callback, "Couch.all_dbs")

    def db(
        self, name: str, create_if_missing: bool = False, *, callback: Callback | None = None
    ) -> Database:
        """The database ``name``, checked to exist (``NotFound`` if not).

        With ``create_if_missing=True`` a missing database is created instead.
        """
        database = self[name]

        def op() -> Op[Database]:
            yield from ops.ensure_db(name, create_if_missing)
            return database

        return self._run(op(), callback, "Couch.db")

    def create(self, name: str, *, callback: Callback | None = None, **options: Any) -> Database:
        """Create database ``name`` and return it; ``PreconditionFailed`` if it exists.

        Options (CouchDB 2+): ``q`` (shards), ``n`` (replicas), ``partitioned``.
        """
        database = self[name]

        def op() -> Op[Database]:
            yield from ops.create_db(name, **options)
            return database

        return self._run(op(), callback, "Couch.create")

    def delete(self, name: str, *, callback: Callback | None = None) -> None:
        """Delete database ``name``; ``NotFound`` if there is none."""
        return self._run(ops.delete_db(name), callback, "Couch.delete")

    def uuids(self, count: int = 1, *, callback: Callback | None = None) -> list[str]:
        """``count`` fresh document ids made by the server."""
        return self._run(ops.uuids(count), callback, "Couch.uuids")

    def tasks(self, *, callback: Callback | None = None) -> list[AttrDict]:
        """The server's active tasks (compactions, replications, indexers)."""
        return self._run(ops.active_tasks(), callback, "Couch.tasks")

    @property
    def replicator(self) -> Database:
        """The ``_replicator`` database."""
        return self["_replicator"]

    @property
    def users(self) -> Database:
        """The ``_users`` database."""
        return self["_users"]
