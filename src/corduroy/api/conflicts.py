"""Conflict handling beyond save: leaf conflicts, copy, revisions, purge."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import TYPE_CHECKING, Any

from ..document import AttrDict
from ..drivers import Callback
from ..errors import InvalidInput
from ..ops import conflicts as recipe
from ..ops import revisions as ops
from ..ops.base import Op
from .base import DatabaseBase

if TYPE_CHECKING:
    from ..conflicts import ConflictResolution


class ConflictMethods(DatabaseBase):
    """Mixed into ``Database``."""

    def conflicts(self, docid: str, *, callback: Callback | None = None) -> list[str]:
        """The revisions of a document's conflicting leaves (``[]`` if none).

        Replication (or ``save(..., new_edits=False)``) can leave a document
        with several leaf revisions; CouchDB shows one, the winner, and lists
        the others here. ``NotFound`` if the document does not exist.
        """
        return self._run(ops.conflicts(self._ref, docid), callback, "Database.conflicts")

    def resolve_leaves(
        self,
        docid: str | Sequence[str],
        merge: recipe.Merge,
        *,
        rounds: int = recipe.MAX_ROUNDS,
        callback: Callback | None = None,
    ) -> ConflictResolution:
        """Merge all leaves of one or more conflicted documents into one revision.

        Every live leaf is fetched (``open_revs=all`` for one id; ``_all_docs``
        plus ``_bulk_get`` for a list), folded starting from CouchDB's winner
        with ``acc = merge(acc, leaf)``, and the result is written on the winning
        revision while the losing leaves are deleted, in one ``_bulk_docs``.
        A write that conflicts is retried with fresh leaves, up to ``rounds``
        rounds. Returns a ``ConflictResolution``: ``resolved`` holds the written
        documents, ``pending`` what could not be finished (a merge returning
        ``None`` leaves the document as it was). Documents without conflicts
        are left alone and appear in neither.
        """
        ids = [docid] if isinstance(docid, str) else list(docid)
        if not callable(merge):
            raise InvalidInput(f"merge must be a function, not {type(merge).__name__}")
        return self._run(
            self._resolve_leaves_op(ids, merge, rounds), callback, "Database.resolve_leaves"
        )

    def _resolve_leaves_op(
        self, ids: list[str], merge: recipe.Merge, rounds: int
    ) -> Op[ConflictResolution]:
        from ..conflicts import ConflictResolution

        outcome = ConflictResolution(self)  # type: ignore[arg-type]
        return outcome.record((yield from ops.resolve_leaves(self._ref, ids, merge, rounds)))

    def copy(
        self,
        source: str | Mapping[str, Any],
        dest: str | MutableMapping[str, Any],
        *,
        rev: str | None = None,
        callback: Callback | None = None,
    ) -> AttrDict:
        """Copy a document on the server (``COPY``); returns ``{ok, id, rev}``.

        ``source`` is an id (or a document: its ``_id``); ``rev`` copies an
        older revision of it. ``dest`` is a new id, or ``{"_id", "_rev"}`` of
        an existing document to overwrite (its ``_rev`` is updated in place).
        Copying onto an existing document without its ``_rev`` raises
        ``Conflict``.
        """
        return self._run(ops.copy_doc(self._ref, source, dest, rev), callback, "Database.copy")

    def revisions(self, docid: str, *, callback: Callback | None = None) -> list[AttrDict]:
        """A document's revisions, newest first: ``[{rev, status}]``.

        ``status`` is ``available`` (``get(id, rev=...)`` can still read it),
        ``missing`` (compacted away) or ``deleted``.
        """
        return self._run(ops.revisions(self._ref, docid), callback, "Database.revisions")

    def purge(
        self,
        docs: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        callback: Callback | None = None,
    ) -> AttrDict:
        """Remove revisions without a trace (``POST /db/_purge``, CouchDB 2+ only).

        ``docs``: a document, a list of documents (each ``_id`` and ``_rev``),
        or ``{id: [revs]}``. Returns ``{purge_seq, purged: {id: [revs]}}``.
        Unlike ``delete`` no tombstone remains, and replication will not carry
        the purge to other databases. Servers without ``_purge``
        (pouchdb-server) answer ``BadRequest``.
        """
        return self._run(ops.purge(self._ref, docs), callback, "Database.purge")
