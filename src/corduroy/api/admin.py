"""Database administration: security, commit, revs_diff, bulk_get, partitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Self

from ..document import AttrDict
from ..drivers import Callback
from ..http.messages import Request
from ..ops import admin as ops
from ..ops import server as server_ops
from ..ops.base import Op
from ..ops.views import design_info
from .base import DatabaseBase

if TYPE_CHECKING:
    from ..partition import Partition


class DatabaseAdminMethods(DatabaseBase):
    """Mixed into ``Database``."""

    def exists(self, *, callback: Callback | None = None) -> bool:
        """Whether the database exists (a ``HEAD`` request)."""
        return self._run(server_ops.db_exists(self.name), callback, "Database.exists")

    def info(self, ddoc: str | None = None, *, callback: Callback | None = None) -> AttrDict:
        """The database's info (``GET /db``): ``doc_count``, ``update_seq``, ...

        With ``ddoc``, the info of that design document's view index
        (``GET /db/_design/ddoc/_info``).
        """
        if ddoc is not None:
            return self._run(design_info(self._ref, ddoc), callback, "Database.info")

        def op() -> Op[AttrDict]:
            response = yield Request("GET", self._ref.path)
            return AttrDict(response.json())

        return self._run(op(), callback, "Database.info")

    def create(self, *, callback: Callback | None = None, **options: Any) -> Self:
        """Create this database on its server; ``PreconditionFailed`` if it exists."""

        def op() -> Op[Self]:
            yield from server_ops.create_db(self.name, **options)
            return self

        return self._run(op(), callback, "Database.create")

    def security(
        self, value: Mapping[str, Any] | None = None, *, callback: Callback | None = None
    ) -> AttrDict:
        """The database's security object; with ``value``, replace it (and return it).

        ``{"admins": {"names": [...], "roles": [...]}, "members": {...}}``. On
        CouchDB 3 an empty object means "server admins only".
        """
        return self._run(ops.security(self.name, value), callback, "Database.security")

    def commit(self, *, callback: Callback | None = None) -> AttrDict:
        """Ask the server to flush recent writes to disk (a no-op on CouchDB 2+)."""
        return self._run(ops.commit(self.name), callback, "Database.commit")

    def revs_diff(
        self, revs: Mapping[str, Iterable[str]], *, callback: Callback | None = None
    ) -> dict[str, AttrDict]:
        """Which of ``{id: [revs]}`` this database lacks: ``{id: {missing, ...}}``."""
        return self._run(ops.revs_diff(self.name, revs), callback, "Database.revs_diff")

    def bulk_get(
        self,
        docs: Iterable[str | tuple[str, str] | Mapping[str, Any]],
        *,
        callback: Callback | None = None,
        **options: Any,
    ) -> list[ops.BulkGetRow]:
        """Fetch many documents or revisions in one request.

        ``docs``: ids, ``(id, rev)`` pairs or ``{"id", "rev"}`` dicts. Returns
        one ``BulkGetRow`` per document: ``row.doc`` (a ``Document``) or
        ``row.error``/``row.reason`` (``"not_found"`` for a missing one).
        Options: ``revs=True`` (adds ``_revisions``), ``latest``, ``attachments``.
        """
        return self._run(
            ops.bulk_get(self.name, docs, self._ref.doc_class, **options),
            callback,
            "Database.bulk_get",
        )

    def partition(self, key: str) -> Partition:
        """Partition ``key`` of this partitioned database (no request is made)."""
        from ..partition import Partition

        return Partition(self, key)  # type: ignore[arg-type]
