"""Conflict operations: the Standard Recipe, leaf conflicts, copy, revisions, purge.

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

from ..document import AttrDict, Document
from ..errors import BadRequest, Conflict, ExpectationFailed, InvalidInput, NotFound
from ..http.messages import Request
from .base import Op, dumps, json_request, query_string, validate_id
from .documents import DbRef, SaveResult, bulk_docs, doc_rev, get_doc, get_docs, put_doc

__all__ = [
    "MAX_ROUNDS",
    "Merge",
    "conflicts",
    "copy_doc",
    "purge",
    "resolve_docs",
    "resolve_leaves",
    "revisions",
    "save_doc",
    "save_docs",
    "take_server_rev",
]

#: ``merge(local_doc, server_doc) -> doc to write | None``
Merge = Callable[[Document, Document | None], MutableMapping[str, Any] | None]

#: How many fetch-merge-write rounds a resolution tries before leaving a doc pending.
MAX_ROUNDS = 10

_Failure = tuple[str, str]  # CouchDB's (error, reason)


def take_server_rev(local: Document, server: Document | None) -> Document:
    """The merge of ``force=True`` / ``overwrite()``: the local doc on the server's rev."""
    if server is not None:
        local["_rev"] = server["_rev"]
    return local


def _copy(db: DbRef, doc: Mapping[str, Any]) -> Document:
    """A deep copy of ``doc`` as the database's document class (what a merge receives)."""
    return db.doc_class(orjson.loads(dumps(doc)))


def _to_write(docid: str, merged: Any, server: Mapping[str, Any] | None) -> dict[str, Any]:
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
        raise InvalidInput(
            f"the merge function changed the _id of {docid!r} to {out['_id']!r}"
        )
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
        merged = merge(_copy(db, doc), server)
        if merged is None:
            raise last
        out = _to_write(docid, merged, server)
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
            merged = merge(_copy(db, todo[docid]), server)
            if merged is None:
                given_up.append(docid)
                continue
            out = _to_write(docid, merged, server)
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


# -- leaf conflicts (replication) --------------------------------------------------


def _rank(doc: Mapping[str, Any]) -> tuple[bool, int, str]:
    """CouchDB's choice of the winning leaf: live first, then the longest, then the rev."""
    pos, _, rev_id = str(doc.get("_rev", "0-")).partition("-")
    return (not doc.get("_deleted", False), int(pos) if pos.isdigit() else 0, rev_id)


def conflicts(db: DbRef, docid: str) -> Op[list[str]]:
    """The revisions of the conflicting leaves of a document (not the winner)."""
    doc = yield from get_doc(db, docid, conflicts="true")
    revs: list[str] = list(doc.get("_conflicts") or [])
    return revs


def _leaves(db: DbRef, ids: Sequence[str]) -> Op[dict[str, list[Document]]]:
    """Every live leaf of each document: ``open_revs=all`` for one id, else two bulk calls."""
    if len(ids) == 1:
        try:
            found = yield from get_doc(db, ids[0], open_revs="all")
        except NotFound:
            found = []
        return {ids[0]: [leaf for leaf in found if leaf is not None]}
    response = yield json_request(
        "POST",
        db.path + "/_all_docs",
        {"keys": list(ids)},
        query="include_docs=true&conflicts=true",
        idempotent=True,
    )
    leaves: dict[str, list[Document]] = {docid: [] for docid in ids}
    wanted: list[dict[str, str]] = []
    for row in response.json()["rows"]:
        doc = row.get("doc")
        if isinstance(doc, dict):
            leaves[doc["_id"]].append(db.doc_class(doc))
            wanted.extend({"id": doc["_id"], "rev": rev} for rev in doc.get("_conflicts") or [])
    if wanted:
        response = yield json_request(
            "POST", db.path + "/_bulk_get", {"docs": wanted}, idempotent=True
        )
        for result in response.json()["results"]:
            for item in result.get("docs", []):
                doc = item.get("ok")
                if isinstance(doc, dict) and doc.get("_id") in leaves:
                    leaves[doc["_id"]].append(db.doc_class(doc))
    return leaves


def resolve_leaves(
    db: DbRef, ids: Sequence[str], merge: Merge, rounds: int = MAX_ROUNDS
) -> Op[SaveResult]:
    """Fold every live leaf of each document into one, and prune the other leaves.

    The winning leaf (CouchDB's choice) is folded with each losing leaf in turn,
    ``acc = merge(acc, leaf)``; the result is written on the winning revision and
    the losing leaves are deleted, all documents in one ``_bulk_docs``. Documents
    with fewer than two live leaves are left alone. If a write conflicts the
    round repeats with freshly fetched leaves, remembering the content of
    leaves already deleted, so no leaf's data is lost. A merge returning
    ``None`` leaves the document (its winning leaf) in ``failed``.
    """
    result = SaveResult()
    todo = [validate_id(docid) for docid in dict.fromkeys(ids)]
    carried: dict[str, list[Document]] = {}  # deleted losers not yet in a written winner
    last: dict[str, tuple[MutableMapping[str, Any], str, str]] = {}
    for _ in range(max(rounds, 0)):
        if not todo:
            break
        leaves = yield from _leaves(db, todo)
        writes: list[dict[str, Any]] = []
        role: dict[int, tuple[str, Document | None]] = {}
        for docid in todo:
            live = sorted(
                (leaf for leaf in leaves.get(docid, []) if not leaf.get("_deleted")),
                key=_rank,
                reverse=True,
            )
            others = [*live[1:], *carried.get(docid, [])]
            if not live or not others:
                continue
            acc: MutableMapping[str, Any] | None = _copy(db, live[0])
            for other in others:
                assert acc is not None
                acc = merge(_copy(db, acc), _copy(db, other))
                if acc is None:
                    last[docid] = (live[0], "conflict", "the merge function declined")
                    break
            if acc is None:
                continue
            winner = _to_write(docid, acc, live[0])
            winner["_rev"] = live[0]["_rev"]
            writes.append(winner)
            role[id(winner)] = (docid, None)
            for loser in live[1:]:
                stub = {"_id": docid, "_rev": loser["_rev"], "_deleted": True}
                writes.append(stub)
                role[id(stub)] = (docid, loser)
        if not writes:
            todo = []
            break
        outcome = yield from bulk_docs(db, writes)
        won: dict[str, MutableMapping[str, Any]] = {}
        deleted: dict[str, list[Document]] = {}
        retry: dict[str, str] = {}  # id -> reason of a conflict
        for doc in outcome.written:
            docid, pruned = role[id(doc)]
            if pruned is None:
                won[docid] = doc
            else:
                deleted.setdefault(docid, []).append(pruned)
        for doc, error, reason in outcome.failed:
            docid, pruned = role[id(doc)]
            if pruned is None:
                last[docid] = (doc, error, reason)
            if error == "conflict":
                retry.setdefault(docid, reason)
        next_todo: list[str] = []
        for docid in dict.fromkeys(docid for docid, _ in role.values()):
            if docid in won:
                carried.pop(docid, None)
                last.pop(docid, None)
                if docid in retry:  # a losing leaf changed meanwhile: fold it in next round
                    last[docid] = (won[docid], "conflict", retry[docid])
                    next_todo.append(docid)
                else:
                    result.written.append(db.doc_class(won[docid]))
                continue
            carried.setdefault(docid, []).extend(deleted.get(docid, []))
            if docid in retry:
                next_todo.append(docid)
        todo = next_todo
    result.failed.extend(last.values())
    return result


# -- copy, revisions, purge ----------------------------------------------------------


def _destination(dest: str | Mapping[str, Any]) -> tuple[str, str | None]:
    if isinstance(dest, Mapping):
        return validate_id(dest.get("_id"), "destination id"), dest.get("_rev")
    return validate_id(dest, "destination id"), None


def copy_doc(
    db: DbRef,
    source: str | Mapping[str, Any],
    dest: str | MutableMapping[str, Any],
    rev: str | None = None,
) -> Op[AttrDict]:
    """``COPY /db/source`` with a ``Destination`` header: ``{ok, id, rev}``.

    ``dest`` is a new id, or a ``{_id, _rev}`` dict to overwrite that revision
    (its ``_rev`` is then updated in place). ``rev`` copies an older revision of
    the source. When the server leaves ``id``/``rev`` out (pouchdb-server), the
    new revision is fetched.
    """
    source_id = validate_id(source.get("_id") if isinstance(source, Mapping) else source)
    dest_id, dest_rev = _destination(dest)
    if "?" in dest_id:
        raise InvalidInput(f"COPY cannot address a destination id with '?': {dest_id!r}")
    header = dest_id + (f"?rev={dest_rev}" if dest_rev else "")
    header = header.encode("utf-8").decode("latin-1")  # CouchDB reads the raw bytes
    response = yield Request(
        "COPY",
        db.doc_path(source_id),
        query_string({"rev": rev}),
        (("Destination", header),),
    )
    answer = AttrDict(response.json() or {"ok": True})
    answer.setdefault("id", dest_id)
    if not answer.get("rev"):
        answer["rev"] = yield from doc_rev(db, dest_id)
    if isinstance(dest, MutableMapping) and answer.get("rev"):
        dest["_rev"] = answer["rev"]
    return answer


def revisions(db: DbRef, docid: str) -> Op[list[AttrDict]]:
    """A document's revision history, newest first: ``[{rev, status}]``.

    ``status`` is ``available``, ``missing`` (compacted away) or ``deleted``.
    """
    doc = yield from get_doc(db, docid, revs_info="true")
    return [AttrDict(item) for item in doc.get("_revs_info") or []]


def _purge_body(docs: Any) -> dict[str, list[str]]:
    if isinstance(docs, Mapping) and "_id" not in docs:
        body: dict[str, list[str]] = {}
        for docid, revs in docs.items():
            listed = [revs] if isinstance(revs, str) else list(revs)
            body[validate_id(docid)] = [str(r) for r in listed]
        return body
    items = [docs] if isinstance(docs, Mapping) else list(docs)
    body = {}  # id -> revs
    for doc in items:
        if not isinstance(doc, Mapping) or not doc.get("_rev"):
            raise InvalidInput("purge takes docs with _id and _rev, or a mapping {id: [revs]}")
        body.setdefault(validate_id(doc.get("_id")), []).append(str(doc["_rev"]))
    return body


def purge(db: DbRef, docs: Any) -> Op[AttrDict]:
    """``POST /db/_purge`` (CouchDB 2+): forget revisions entirely, leaving no tombstone.

    ``docs``: a document, a list of documents (their ``_id`` and ``_rev``) or a
    mapping ``{id: [revs]}``. Returns ``{purge_seq, purged: {id: [revs]}}``.
    """
    body = _purge_body(docs)
    try:
        response = yield json_request("POST", db.path + "/_purge", body)
    except BadRequest as exc:
        if exc.reason != "only_multipart_accepted":
            raise
        raise BadRequest(
            400,
            "bad_request",
            "this server does not support _purge (a CouchDB 2+ feature)",
            method=exc.method,
            url=exc.url,
            body=exc.body,
            headers=exc.headers,
        ) from None
    return AttrDict(response.json())
