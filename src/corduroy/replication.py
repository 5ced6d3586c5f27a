"""Watching replications: ``ReplicationStatus`` and ``ReplicationFailed``.

``couch.replication(doc_id)`` returns a :class:`ReplicationStatus`: one
snapshot of a ``_replicator`` document's replication, read from
``/_scheduler/docs`` on CouchDB 2+ and from the document's ``_replication_*``
fields on 1.x-style servers (pouchdb-server). Its ``wait()`` polls until a
one-shot replication completes, or raises :class:`ReplicationFailed`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .document import AttrDict
from .drivers import Callback, dispatch
from .errors import CouchError
from .ops.base import Op
from .ops.replication import poll_until

if TYPE_CHECKING:
    from .couch import Couch

__all__ = ["ReplicationFailed", "ReplicationStatus", "parse_status"]

#: CouchDB 1.x / pouchdb-server ``_replication_state`` -> scheduler state
_OLD_STATES = {"triggered": "running", "completed": "completed", "error": "failed"}
#: states in which ``wait()`` gives up
FAILED_STATES = ("failed", "error", "crashing")


class ReplicationFailed(CouchError):
    """A replication stopped with an error (``state`` and the server's ``reason``)."""

    def __init__(self, docid: str, state: str, reason: str | None) -> None:
        self.docid = docid
        self.state = state
        self.reason = reason
        super().__init__(f"replication {docid!r} is {state}: {reason or 'no reason given'}")


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


class ReplicationStatus:
    """One look at a replication: ``state`` and progress.

    ``state`` is the scheduler's word on CouchDB 2+: ``initializing``,
    ``pending``, ``running``, ``crashing``, ``completed``, ``failed``,
    ``error``; a 1.x-style server's ``triggered`` reads as ``running``.
    ``docs_read``, ``docs_written``, ``doc_write_failures`` and ``pending``
    (changes not yet replicated) are ``None`` when the server does not say
    (CouchDB reports them once a job checkpoints). ``error`` is the server's
    message in a failed or crashing state; ``raw`` the answer as received.
    """

    def __init__(
        self,
        docid: str,
        state: str,
        info: dict[str, Any],
        *,
        error: str | None = None,
        raw: dict[str, Any] | None = None,
        couch: Couch | None = None,
        replicator: str = "_replicator",
    ) -> None:
        self.id = docid
        self.state = state
        self.docs_read = _int(info.get("docs_read"))
        self.docs_written = _int(info.get("docs_written"))
        self.doc_write_failures = _int(info.get("doc_write_failures"))
        self.pending = _int(info.get("changes_pending"))
        self.error = error
        self.raw = AttrDict(raw or {})
        self._couch = couch
        self._replicator = replicator

    @property
    def done(self) -> bool:
        """The replication completed."""
        return self.state == "completed"

    @property
    def failed(self) -> bool:
        """The replication stopped with an error (or keeps crashing)."""
        return self.state in FAILED_STATES

    def __repr__(self) -> str:
        progress = ""
        if self.docs_written is not None:
            progress = f", {self.docs_written} docs written"
        return f"<Replication {self.id!r}: {self.state}{progress}>"

    def wait(
        self,
        timeout: float | None = None,
        poll: float = 0.5,
        *,
        callback: Callback | None = None,
    ) -> ReplicationStatus:
        """Poll until the replication completes and return its final status.

        Raises :class:`ReplicationFailed` when it fails, errs or crashes
        (CouchDB retries a crashing job, but a one-shot replication that
        crashes is rarely what the caller is waiting for), and
        :class:`~corduroy.errors.Timeout` after ``timeout`` seconds. Meant for
        one-shot replications: a continuous one never completes.
        """
        if self._couch is None:
            raise RuntimeError("this status is not attached to a server")
        couch, docid, replicator = self._couch, self.id, self._replicator

        def fetch() -> Op[ReplicationStatus]:
            status = yield from couch._replication_op(docid, replicator)
            return status

        def check(status: ReplicationStatus) -> bool:
            if status.done:
                return True
            if status.failed:
                raise ReplicationFailed(status.id, status.state, status.error)
            return False

        op = poll_until(fetch, check, timeout, poll)
        result: ReplicationStatus = dispatch(op, couch._conn, callback, "ReplicationStatus.wait")
        return result


def parse_status(
    docid: str, scheduler: dict[str, Any] | None, doc: dict[str, Any] | None
) -> tuple[str, dict[str, Any], str | None]:
    """``(state, progress info, error)`` from a scheduler entry or a ``_replicator`` doc."""
    if scheduler:
        info = scheduler.get("info") or {}
        error = info.get("error") if isinstance(info, dict) else None
        if error is None and scheduler.get("last_error"):
            error = scheduler.get("last_error")
        return str(scheduler.get("state") or "initializing"), info, error
    doc = doc or {}
    raw_state = doc.get("_replication_state")
    state = _OLD_STATES.get(raw_state, raw_state) if raw_state else "initializing"
    stats = doc.get("_replication_stats") or {}
    error = doc.get("_replication_state_reason")
    return str(state), stats if isinstance(stats, dict) else {}, error
