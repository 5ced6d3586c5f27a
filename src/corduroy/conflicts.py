"""``ConflictResolution``: what a write reports, document by document."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .drivers import Callback
from .errors import InvalidInput
from .ops import conflicts as ops
from .ops.base import Op
from .ops.documents import SaveResult

if TYPE_CHECKING:
    from .database import Database

__all__ = ["MAX_ROUNDS", "ConflictResolution", "Pending"]

#: Fetch-merge-write rounds ``resolve`` tries before leaving a document pending.
MAX_ROUNDS = ops.MAX_ROUNDS

_REPR_IDS = 5


class Pending(NamedTuple):
    """A document the server refused: the local copy and CouchDB's ``error``/``reason``."""

    doc: MutableMapping[str, Any]
    error: str
    reason: str


class ConflictResolution:
    """The outcome of ``Database.save``, and the way to finish it.

    ``resolved`` maps each written ``_id`` to the caller's document (with its new
    ``_rev``); ``pending`` maps each refused ``_id`` to a :class:`Pending`
    (``doc``, CouchDB's ``error`` and ``reason``). The repr reads
    ``<Success: 2 docs updated>`` when nothing is pending, ``<Conflict: second>``
    when every pending document is a conflict, and otherwise names each pending
    id with its error, e.g. ``<Error: a (forbidden), b (conflict)>``. Long lists
    are cut after five ids: ``<Conflict: a, b, c, d, e, ... (3 more)>``.

    ``resolve(merge)`` and ``overwrite()`` retry the conflicted documents and
    update this same object; other refusals (``forbidden``, ...) stay pending.
    """

    def __init__(self, db: Database | None = None) -> None:
        self.db = db
        self.pending: dict[str, Pending] = {}
        self._resolved: dict[str, MutableMapping[str, Any]] = {}
        #: written documents not yet in ``_resolved`` (folded in on first read)
        self._unfolded: list[list[MutableMapping[str, Any]]] = []

    @property
    def resolved(self) -> dict[str, MutableMapping[str, Any]]:
        """Each written ``_id`` and your document (built when first read, so that a
        large save whose caller never looks does not pay for it)."""
        if self._unfolded:
            for docs in self._unfolded:
                self._resolved.update({doc["_id"]: doc for doc in docs})
            self._unfolded.clear()
        return self._resolved

    def record(self, outcome: SaveResult) -> ConflictResolution:
        """Fold a write's per-document results into ``pending`` and ``resolved``."""
        if not self.pending:  # the common case: nothing to take back out of pending
            self._unfolded.append(outcome.written)
        else:
            self._record_written(outcome)
        for doc, error, reason in outcome.failed:
            self.pending[doc["_id"]] = Pending(doc, error, reason)
        return self

    def _record_written(self, outcome: SaveResult) -> None:
        resolved = self.resolved
        for doc in outcome.written:
            docid = doc["_id"]
            self.pending.pop(docid, None)
            resolved[docid] = doc

    # -- finishing the job ------------------------------------------------------

    def resolve(
        self, merge: ops.Merge, callback: Callback | None = None, *, rounds: int = MAX_ROUNDS
    ) -> ConflictResolution:
        """Merge every conflicted document with the server's copy and write it again.

        Each round fetches the current server copies of all conflicted docs in
        one request, calls ``merge(local_doc, server_doc)`` for each
        (``server_doc`` is a ``Document``, or ``None`` if the server's copy is
        deleted or missing; ``local_doc`` is a ``Document`` copy of yours, so
        change it freely) and writes every non-``None`` result in one
        ``_bulk_docs``. Docs that conflict again are retried, up to ``rounds``
        rounds (10 by default); what is still unresolved then, or declined by a
        merge returning ``None``, stays in ``pending``. Each written doc moves
        to ``resolved`` and your dict is updated in place to exactly what was
        written, new ``_rev`` included. Returns this object, updated.
        """
        if self.db is None:
            raise InvalidInput("this ConflictResolution is not bound to a database")
        if not callable(merge):
            raise InvalidInput(f"merge must be a function, not {type(merge).__name__}")
        return self.db._run(self._resolve_op(merge, rounds), callback, "ConflictResolution.resolve")

    def overwrite(
        self, callback: Callback | None = None, *, rounds: int = MAX_ROUNDS
    ) -> ConflictResolution:
        """Write your version of every conflicted document over the server's.

        ``resolve`` with a merge that keeps your document and takes the server's
        ``_rev`` (what ``save(docs, force=True)`` does).
        """
        return self.resolve(ops.take_server_rev, callback, rounds=rounds)

    def _resolve_op(self, merge: ops.Merge, rounds: int) -> Op[ConflictResolution]:
        assert self.db is not None
        conflicted = {i: p.doc for i, p in self.pending.items() if p.error == "conflict"}
        failures = {i: (p.error, p.reason) for i, p in self.pending.items()}
        if conflicted:
            outcome = yield from ops.resolve_docs(self.db._ref, conflicted, merge, rounds, failures)
            self.record(outcome)
        return self

    # -- reading it -------------------------------------------------------------

    @property
    def ok(self) -> bool:
        """True when nothing is pending."""
        return not self.pending

    def __bool__(self) -> bool:
        return True

    def __repr__(self) -> str:
        if not self.pending:
            n = len(self.resolved)
            return f"<Success: {n} doc{'' if n == 1 else 's'} updated>"
        every_conflict = all(p.error == "conflict" for p in self.pending.values())
        if every_conflict:
            label, names = "Conflict", list(self.pending)
        else:
            label = "Error"
            names = [f"{docid} ({p.error})" for docid, p in self.pending.items()]
        shown = ", ".join(names[:_REPR_IDS])
        if len(names) > _REPR_IDS:
            shown += f", ... ({len(names) - _REPR_IDS} more)"
        return f"<{label}: {shown}>"
