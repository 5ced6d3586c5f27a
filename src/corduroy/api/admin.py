"""Database administration: security, commit, revs_diff, bulk_get, partitions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ..document import AttrDict
from ..drivers import Callback
from ..ops import admin as ops
from .base import DatabaseBase

if TYPE_CHECKING:
    from ..partition import Partition


class DatabaseAdminMethods(DatabaseBase):
    """Mixed into ``Database``."""

    def security(
        self, value: Mapping[str, Any] | None = None, *, callback: Callback | None = None
    ) -> AttrDict:
        """The database's security object; with ``value``, replace it (and return it).

        ``{"admins": {"names": [...], "roles": [...]}, "members": {...}}``. On
        CouchDB 3 an empty object means "server admins only".
        """
        return self._run(ops.security(self.name, value), callback)

    def commit(self, *, callback: Callback | None = None) -> AttrDict:
        """Ask the server to flush recent writes to disk (a no-op on CouchDB 2+)."""
        return self._run(ops.commit(self.name), callback)

    def revs_diff(
        self, revs: Mapping[str, Iterable[str]], *, callback: Callback | None = None
    ) -> dict[str, AttrDict]:
        """Which of ``{id: [revs]}`` this database lacks: ``{id: {missing, ...}}``."""
        return self._run(ops.revs_diff(self.name, revs), callback)

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
        return self._run(ops.bulk_get(self.name, docs, self._ref.doc_class, **options), callback)

    def partition(self, key: str) -> Partition:
        """Partition ``key`` of this partitioned database (no request is made)."""
        from ..partition import Partition

        return Partition(self, key)  # type: ignore[arg-type]
