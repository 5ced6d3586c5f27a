"""Conflict operations: the Standard Recipe (leaf conflicts are in ``ops.revisions``).

The Standard Recipe (attempt the write; on a conflict fetch the server's copy,
merge, write again) is :func:`save_doc` for one document and :func:`save_docs`
/ :func:`resolve_docs` for many. A merge function is called as
``merge(local_doc, server_doc)``: ``local_doc`` is a fresh ``Document`` copy of
the caller's document (so the merge may change it freely), ``server_doc`` the
server's current ``Document``, or ``None`` when the document is deleted or
missing. It returns the document to write, or ``None`` to give up on it.

Only a successful write touches the caller's dict: it then holds exactly what
was written, with the new ``_rev``. A document that still conflicts after
``rounds`` attempts is reported (or raised, for one document), never dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Any

import orjson

from ..document import Document
from ..errors import Conflict, ExpectationFailed, InvalidInput, NotFound
from .base import Op, dumps
from .documents import DbRef, SaveResult, bulk_docs, get_doc, get_docs, put_doc

__all__ = [
    "MAX_ROUNDS",
    "Merge",
    "copy_for_merge",
    "doc_to_write",
    "resolve_docs",
    "save_doc",
    "save_docs",
    "take_server_rev",
]

#: ``merge(local_doc, server_doc) -> doc to write | None``; ``server_doc`` is ``None`` when
#: the server has no live copy (typed ``Any`` so that ``def merge(mine: Document, theirs:
#: Document)``, the guide's spelling, type-checks)
Merge = Callable[[Document, Any], MutableMapping[str, Any] | None]

#: How many fetch-merge-write rounds a resolution tries before leaving a doc pending.
MAX_ROUNDS = 10

_Failure = tuple[str, str]  # CouchDB's (error, reason)


def take_server_rev(local: Document, server: Document | None) -> Document:
    """The merge of ``force=True`` / ``overwrite()``: the local doc on the server's rev."""
    if server is not None:
        local["_rev"] = server["_rev"]
    return local


def copy_for_merge(db: DbRef, doc: Mapping[str, Any]) -> Document:
    """A deep copy of ``doc`` as the database's document class (what a merge receives)."""
    return db.doc_class(orjson.loads(dumps(doc)))


def doc_to_write(docid: str, merged: Any, server: Mapping[str, Any] | None) -> dict[str, Any]:
    """What a merge returned, checked, as a new dict to send.

    When there is no live server copy the ``_rev`` is dropped, so the write
    (re)creates the document instead of conflicting with a tombstone.
    """
    if not isinstance(merged, Mapping):
        raise InvalidInput(
            f"the merge function returned {type(merged).__name__} for document {docid!r}; "
            "it must return a dict or None"
        )
    out = dict(merged)
    if out.setdefault("_id", docid) != docid:
        raise InvalidInput(f"the merge function changed the _id of {docid!r} to {out['_id']!r}")
    if server is None:
        out.pop("_rev", None)
    return out


def _adopt(local: MutableMapping[str, Any], written: Mapping[str, Any]) -> None:
    """Make the caller's dict hold exactly what was written (with its new ``_rev``)."""
    if written is not local:
        local.clear()
        local.update(written)


def _get_or_none(db: DbRef, docid: str) -> Op[Document | None]:
    try:
        doc: Document = yield from get_doc(db, docid)
    except NotFound:
        return None
    return doc


def save_doc(
    db: DbRef,
    doc: MutableMapping[str, Any],
    merge: Merge | None = None,
    rounds: int = MAX_ROUNDS,
    **options: Any,
) -> Op[SaveResult]:
    """Write one document (``PUT``); on a conflict apply ``merge`` up to ``rounds`` times.

    Without ``merge`` a conflict raises :class:`Conflict` at once. A merge that
    returns ``None``, or a document still conflicting after ``rounds`` merges,
    raises :class:`Conflict` too. Other errors are raised as they come.
    """
    try:
        yield from put_doc(db, doc, **options)
        return SaveResult(written=[doc])
    except Conflict as exc:
        if merge is None:
            raise
        last = exc
    docid: str = doc["_id"]
    for _ in range(max(rounds, 0)):
        server = yield from _get_or_none(db, docid)
        merged = merge(copy_for_merge(db, doc), server)
        if merged is None:
            raise last
        out = doc_to_write(docid, merged, server)
        try:
            yield from put_doc(db, out, **options)
        except Conflict as exc:
            last = exc
            continue
        _adopt(doc, out)
        return SaveResult(written=[doc])
    raise Conflict(
        409,
        last.error or "conflict",
        f"{last.reason or 'Document update conflict'} (still conflicting after "
        f"{rounds} merge rounds)",
        method=last.method,
        url=last.url,
        body=last.body,
        headers=last.headers,
    )


def resolve_docs(
    db: DbRef,
    pending: Mapping[str, MutableMapping[str, Any]],
    merge: Merge,
    rounds: int = MAX_ROUNDS,
    failures: Mapping[str, _Failure] | None = None,
) -> Op[SaveResult]:
    """The Standard Recipe for many conflicting documents (``pending``: id -> caller's doc).

    Each round fetches the server copies of all remaining docs in one request,
    merges, and writes the non-``None`` results in one ``_bulk_docs``; the docs
    that conflict again go to the next round. Docs declined by the merge, refused
    for another reason or still conflicting after ``rounds`` rounds come back in
    ``failed`` with CouchDB's last error and reason (from ``failures`` when no
    write was tried).
    """
    result = SaveResult()
    last: dict[str, _Failure] = {
        docid: (failures or {}).get(docid, ("conflict", "Document update conflict"))
        for docid in pending
    }
    todo = dict(pending)
    given_up: list[str] = []
    for _ in range(max(rounds, 0)):
        if not todo:
            break
        ids = list(todo)
        servers = yield from get_docs(db, ids)
        writes: list[dict[str, Any]] = []
        owner: dict[int, str] = {}
        for docid, server in zip(ids, servers, strict=True):
            merged = merge(copy_for_merge(db, todo[docid]), server)
            if merged is None:
                given_up.append(docid)
                continue
            out = doc_to_write(docid, merged, server)
            writes.append(out)
            owner[id(out)] = docid
        for docid in given_up:
            todo.pop(docid, None)
        if not writes:
            break
        outcome = yield from bulk_docs(db, writes)
        for written in outcome.written:
            docid = owner[id(written)]
            local = todo.pop(docid)
            _adopt(local, written)
            result.written.append(local)
        for failed, error, reason in outcome.failed:
            docid = owner[id(failed)]
            last[docid] = (error, reason)
            if error != "conflict":
                given_up.append(docid)
                todo.pop(docid, None)
    for docid in given_up:
        result.failed.append((pending[docid], *last[docid]))
    for docid, local in todo.items():
        result.failed.append((local, *last[docid]))
    return result


def save_docs(
    db: DbRef,
    docs: Sequence[MutableMapping[str, Any]],
    merge: Merge | None = None,
    rounds: int = MAX_ROUNDS,
    **options: Any,
) -> Op[SaveResult]:
    """Write many documents in one ``_bulk_docs``; with ``merge``, resolve the conflicts.

    ``all_or_nothing=True`` is refused by CouchDB 2+ with a 417; that becomes an
    :class:`ExpectationFailed` saying so (nothing was written).
    """
    if options.get("batch") is not None:
        raise InvalidInput("batch='ok' applies to saving one document; a list is one request")
    try:
        first = yield from bulk_docs(db, docs, **options)
    except ExpectationFailed as exc:
        if not options.get("all_or_nothing"):
            raise
        raise ExpectationFailed(
            417,
            "not_implemented",
            "all_or_nothing is not supported by this server (CouchDB 2+ dropped it); "
            "nothing was written",
            method=exc.method,
            url=exc.url,
            body=exc.body,
            headers=exc.headers,
        ) from None
    if merge is None:
        return first
    pending: dict[str, MutableMapping[str, Any]] = {}
    failures: dict[str, _Failure] = {}
    result = SaveResult(written=list(first.written))
    for doc, error, reason in first.failed:
        if error == "conflict":
            pending[doc["_id"]] = doc
            failures[doc["_id"]] = (error, reason)
        else:
            result.failed.append((doc, error, reason))
    if pending:
        resolved = yield from resolve_docs(db, pending, merge, rounds, failures)
        result.written.extend(resolved.written)
        result.failed.extend(resolved.failed)
    return result
