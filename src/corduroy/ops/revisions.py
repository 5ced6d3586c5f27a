"""Revision-tree operations: leaf conflicts, copy, revision history, purge."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any

from ..document import AttrDict, Document
from ..errors import BadRequest, InvalidInput, NotFound
from ..http.messages import Request
from .base import Op, json_request, query_string, validate_id
from .conflicts import MAX_ROUNDS, Merge, copy_for_merge, doc_to_write
from .documents import DbRef, SaveResult, bulk_docs, doc_rev, get_doc

__all__ = ["conflicts", "copy_doc", "purge", "resolve_leaves", "revisions"]


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
            acc: MutableMapping[str, Any] | None = copy_for_merge(db, live[0])
            for other in others:
                assert acc is not None
                acc = merge(copy_for_merge(db, acc), copy_for_merge(db, other))
                if acc is None:
                    last[docid] = (live[0], "conflict", "the merge function declined")
                    break
            if acc is None:
                continue
            winner = doc_to_write(docid, acc, live[0])
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


def _fields(doc: Any) -> Mapping[str, Any] | None:
    """A document given as a mapping or as any object with ``.items()`` (as the
    original corduroy took them); ``None`` for an id."""
    if isinstance(doc, Mapping):
        return doc
    if not isinstance(doc, str) and callable(getattr(doc, "items", None)):
        return dict(doc.items())
    return None


def _destination(dest: Any) -> tuple[str, str | None]:
    fields = _fields(dest)
    if fields is not None:
        return validate_id(fields.get("_id"), "destination id"), fields.get("_rev")
    return validate_id(dest, "destination id"), None


def copy_doc(
    db: DbRef,
    source: str | Mapping[str, Any],
    dest: str | MutableMapping[str, Any],
    rev: str | None = None,
) -> Op[AttrDict]:
    """``COPY /db/source`` with a ``Destination`` header: ``{ok, id, rev}``.

    ``source`` is an id or a document (a mapping or any object with
    ``.items()``: its ``_id``). ``dest`` is a new id, or such a document with
    ``_id`` and ``_rev`` to overwrite that revision (its ``_rev`` is then
    updated in place). ``rev`` copies an older revision of the source. When the
    server leaves ``id``/``rev`` out (pouchdb-server), the new revision is fetched.
    """
    fields = _fields(source)
    source_id = validate_id(fields.get("_id") if fields is not None else source)
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
    if not isinstance(dest, str) and hasattr(dest, "__setitem__") and answer.get("rev"):
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
