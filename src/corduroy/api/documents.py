"""Document methods of ``Database``: get, save, delete."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, overload

from ..conflicts import ConflictResolution
from ..document import AttrDict, Document
from ..drivers import Callback
from ..errors import InvalidInput
from ..ops import documents as ops
from ..ops.base import Op
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
            doc: Document = self._run(ops.get_doc(self._ref, docid, **options), callback)
            return doc
        if isinstance(docid, Sequence):
            if options:
                raise InvalidInput(f"options {sorted(options)} apply to a single-id get only")
            return self._run(ops.get_docs(self._ref, list(docid)), callback)
        raise InvalidInput(f"get takes an id or a list of ids, not {type(docid).__name__}")

    def save(
        self,
        doc: MutableMapping[str, Any] | Sequence[MutableMapping[str, Any]],
        *,
        callback: Callback | None = None,
        **options: Any,
    ) -> ConflictResolution:
        """Write one document or a list of them; returns a ``ConflictResolution``.

        Each dict gets its ``_id`` (a server-made id if it had none) and new
        ``_rev`` in place. One document: a stale ``_rev`` raises ``Conflict``.
        A list is written in one ``_bulk_docs`` request and conflicts are
        reported per document in the result's ``pending``. Add ``"_deleted":
        True`` to a document to delete it in a batch.

        Options: ``batch="ok"`` (one document), ``new_edits=False`` and
        ``all_or_nothing=True`` (lists).
        """
        return self._run(self._save_op(doc, options), callback)

    def _save_op(self, doc: Any, options: dict[str, Any]) -> Op[ConflictResolution]:
        outcome = ConflictResolution(self)  # type: ignore[arg-type]
        if isinstance(doc, Mapping):
            result = yield from ops.put_doc(self._ref, doc, **options)
            written = ops.SaveResult()
            if result.get("ok"):
                written.written.append(doc)  # type: ignore[arg-type]
            return outcome.record(written)
        if isinstance(doc, Sequence) and not isinstance(doc, str | bytes):
            return outcome.record((yield from ops.bulk_docs(self._ref, doc, **options)))
        raise InvalidInput(f"save takes a dict or a list of dicts, not {type(doc).__name__}")

    def delete(
        self,
        doc: Mapping[str, Any] | str | Sequence[Mapping[str, Any]],
        rev: str | None = None,
        *,
        callback: Callback | None = None,
    ) -> Any:
        """Delete a document (a dict with ``_id`` and ``_rev``, or an id and ``rev``).

        A stale ``_rev`` raises ``Conflict``; the dict's ``_rev`` becomes the
        deletion's revision. A list of dicts is deleted in one request and
        reported like ``save``.
        """
        if isinstance(doc, Mapping | str):
            return self._run(ops.delete_doc(self._ref, doc, rev), callback)
        stubs = []
        for item in doc:
            if not isinstance(item, Mapping):
                raise InvalidInput("delete takes a dict, an id, or a list of dicts")
            stubs.append({"_id": item.get("_id"), "_rev": item.get("_rev"), "_deleted": True})
        return self._run(self._save_op(stubs, {}), callback)

    def rev(self, docid: str, *, callback: Callback | None = None) -> str | None:
        """The current ``_rev`` of a document, or ``None`` if it does not exist."""
        return self._run(ops.doc_rev(self._ref, docid), callback)

    def put(
        self, doc: MutableMapping[str, Any], *, callback: Callback | None = None, **options: Any
    ) -> AttrDict:
        """Write one document and return CouchDB's answer (``{ok, id, rev}``)."""
        return self._run(ops.put_doc(self._ref, doc, **options), callback)
