"""Document methods of ``Database``: get, save, delete."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, overload

from ..conflicts import ConflictResolution
from ..document import AttrDict, Document
from ..drivers import Callback
from ..errors import Conflict, InvalidInput
from ..ops import conflicts as conflict_ops
from ..ops import documents as ops
from ..ops.base import Op
from ..ops.conflicts import MAX_ROUNDS, Merge, take_server_rev
from ..ops.documents import SaveResult
from .base import DatabaseBase


class DocumentMethods(DatabaseBase):
    """Mixed into ``Database``."""

    @overload
    def get(self, docid: str, *, callback: Callback | None = None, **options: Any) -> Document: ...

    @overload
    def get(
        self, docid: Sequence[str], *, callback: Callback | None = None, **options: Any
    ) -> list[Document | None]: ...

    def get(
        self, docid: str | Sequence[str], *, callback: Callback | None = None, **options: Any
    ) -> Document | list[Document | None]:
        """Fetch a document by id, or a list of documents by a list of ids.

        One id: the ``Document``, or ``NotFound``. Options: ``rev``, ``revs``,
        ``revs_info``, ``conflicts``, ``open_revs``, ``latest``, ``attachments``,
        ``atts_since``, ``local_seq``, ``meta``. A list of ids: the documents in
        the same order (one request), ``None`` where a document is missing or
        deleted.
        """
        if isinstance(docid, str):
            doc: Document = self._run(
                ops.get_doc(self._ref, docid, **options), callback, "Database.get"
            )
            return doc
        if isinstance(docid, Sequence):
            if options:
                raise InvalidInput(f"options {sorted(options)} apply to a single-id get only")
            return self._run(ops.get_docs(self._ref, list(docid)), callback, "Database.get")
        raise InvalidInput(f"get takes an id or a list of ids, not {type(docid).__name__}")

    def save(
        self,
        doc: MutableMapping[str, Any] | Sequence[MutableMapping[str, Any]],
        *,
        merge: Merge | None = None,
        force: bool = False,
        rounds: int = MAX_ROUNDS,
        callback: Callback | None = None,
        **options: Any,
    ) -> ConflictResolution:
        """Write one document or a list of them; returns a ``ConflictResolution``.

        Each dict gets its ``_id`` (a server-made id if it had none) and new
        ``_rev`` in place. A list is written in one ``_bulk_docs`` request and
        refusals are reported per document in the result's ``pending``
        (``<Conflict: second>``); one document with a stale ``_rev`` raises
        ``Conflict`` carrying the ``ConflictResolution`` (``exc.pending``,
        ``exc.resolve(merge)``, ``exc.overwrite()``; with ``callback=`` it is
        the callback's ``data``, and ``status.error is Conflict``). Add
        ``"_deleted": True`` to a document to delete it.

        ``merge=fn`` resolves conflicts at once with the Standard Recipe
        (``fn(local_doc, server_doc)``, see ``ConflictResolution.resolve``), up to
        ``rounds`` rounds; one document still conflicting then raises
        ``Conflict``. ``force=True`` writes your version over the server's.

        Options: ``batch="ok"`` (one document; CouchDB 2+ answers without the new
        ``_rev``, so the dict keeps its old one), ``new_edits=False`` and
        ``all_or_nothing=True`` (lists; CouchDB 2+ refuses the latter with
        ``ExpectationFailed``).
        """
        if force:
            if merge is not None:
                raise InvalidInput("save takes merge= or force=True, not both")
            merge = take_server_rev
        if merge is not None and not callable(merge):
            raise InvalidInput(f"merge must be a function, not {type(merge).__name__}")
        return self._run(self._save_op(doc, merge, rounds, options), callback, "Database.save")

    def _save_op(
        self, doc: Any, merge: Merge | None, rounds: int, options: dict[str, Any]
    ) -> Op[ConflictResolution]:
        outcome = ConflictResolution(self)  # type: ignore[arg-type]
        if isinstance(doc, MutableMapping):
            try:
                written = yield from conflict_ops.save_doc(self._ref, doc, merge, rounds, **options)
            except Conflict as exc:  # the exception carries the save, to finish it from there
                reason = exc.reason or "Document update conflict."
                exc.resolution = outcome.record(SaveResult(failed=[(doc, "conflict", reason)]))
                raise
            return outcome.record(written)
        if isinstance(doc, Sequence) and not isinstance(doc, str | bytes):
            result = yield from conflict_ops.save_docs(self._ref, doc, merge, rounds, **options)
            return outcome.record(result)
        raise InvalidInput(f"save takes a dict or a list of dicts, not {type(doc).__name__}")

    def delete(
        self,
        doc: Mapping[str, Any] | str | Sequence[Mapping[str, Any]],
        rev: str | None = None,
        *,
        callback: Callback | None = None,
    ) -> Any:
        """Delete a document (a dict with ``_id`` and ``_rev``, or an id and ``rev``).

        A stale ``_rev`` raises ``Conflict`` (a missing one is refused before
        sending: pouchdb-server would delete whatever is current); the dict's
        ``_rev`` becomes the deletion's revision. A list of dicts is deleted in
        one request and reported like ``save``, as a ``ConflictResolution``.
        """
        if isinstance(doc, Mapping | str):
            return self._run(ops.delete_doc(self._ref, doc, rev), callback, "Database.delete")
        if rev is not None:
            raise InvalidInput("rev= applies to deleting one document")
        stubs: list[MutableMapping[str, Any]] = []
        for item in doc:
            if not isinstance(item, Mapping):
                raise InvalidInput("delete takes a dict, an id, or a list of dicts")
            stubs.append({"_id": item.get("_id"), "_rev": item.get("_rev"), "_deleted": True})
        return self._run(self._delete_many(doc, stubs), callback, "Database.delete")

    def _delete_many(
        self, docs: Sequence[Mapping[str, Any]], stubs: list[MutableMapping[str, Any]]
    ) -> Op[ConflictResolution]:
        outcome = yield from self._save_op(stubs, None, 0, {})
        for doc, stub in zip(docs, stubs, strict=True):  # the callers' dicts get the new _rev
            if isinstance(doc, MutableMapping) and doc.get("_id") in outcome.resolved:
                doc["_rev"] = stub["_rev"]
        return outcome

    def rev(self, docid: str, *, callback: Callback | None = None) -> str | None:
        """The current ``_rev`` of a document, or ``None`` if it does not exist."""
        return self._run(ops.doc_rev(self._ref, docid), callback, "Database.rev")

    def put(
        self, doc: MutableMapping[str, Any], *, callback: Callback | None = None, **options: Any
    ) -> AttrDict:
        """Write one document and return CouchDB's answer (``{ok, id, rev}``)."""
        return self._run(ops.put_doc(self._ref, doc, **options), callback, "Database.put")
