"""Replication methods of ``Database``: push and pull."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..drivers import Callback
from .base import DatabaseBase

if TYPE_CHECKING:
    from ..database import Database
    from ..document import AttrDict


class DatabaseReplicationMethods(DatabaseBase):
    """Mixed into ``Database``."""

    def push(
        self, target: Database | str, *, callback: Callback | None = None, **options: Any
    ) -> AttrDict:
        """Replicate this database to ``target`` (a ``Database``, a url, or a name on
        this server). Options as for ``Couch.replicate`` (``_id=`` writes a
        ``_replicator`` document instead)."""
        return self._run(self.couch._replicate_op(self, target, options), callback, "Database.push")  # type: ignore[arg-type]

    def pull(
        self, source: Database | str, *, callback: Callback | None = None, **options: Any
    ) -> AttrDict:
        """Replicate ``source`` (a ``Database``, a url, or a name on this server) into
        this database. Options as for ``Couch.replicate``."""
        return self._run(self.couch._replicate_op(source, self, options), callback, "Database.pull")  # type: ignore[arg-type]
