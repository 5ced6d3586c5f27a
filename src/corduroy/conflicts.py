"""``ConflictResolution``: what a write reports, document by document."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, NamedTuple

from .ops.documents import SaveResult

if TYPE_CHECKING:
    from .database import Database

__all__ = ["ConflictResolution", "Pending"]

_REPR_IDS = 5


class Pending(NamedTuple):
    """A document the server refused: the local copy and CouchDB's ``error``/``reason``."""

    doc: MutableMapping[str, Any]
    error: str
    reason: str


class ConflictResolution:
    """The outcome of ``Database.save``.

    ``resolved`` maps each written ``_id`` to the caller's document (with its new
    ``_rev``); ``pending`` maps each refused ``_id`` to a :class:`Pending`.
    Its repr reads ``<Success: 2 docs updated>`` or ``<Conflict: second>``.
    """

    def __init__(self, db: Database | None = None) -> None:
        self.db = db
        self.pending: dict[str, Pending] = {}
        self.resolved: dict[str, MutableMapping[str, Any]] = {}

    def record(self, outcome: SaveResult) -> ConflictResolution:
        """Fold a write's per-document results into ``pending`` and ``resolved``."""
        for doc in outcome.written:
            docid = doc["_id"]
            self.pending.pop(docid, None)
            self.resolved[docid] = doc
        for doc, error, reason in outcome.failed:
            self.pending[doc["_id"]] = Pending(doc, error, reason)
        return self

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
        kinds = {p.error for p in self.pending.values()}
        label = "Conflict" if kinds == {"conflict"} else "Error"
        ids = list(self.pending)
        shown = ", ".join(ids[:_REPR_IDS])
        if len(ids) > _REPR_IDS:
            shown += f", ... ({len(ids) - _REPR_IDS} more)"
        return f"<{label}: {shown}>"
