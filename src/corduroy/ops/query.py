"""``db.query(map_src)``: functions that live in no design document of yours.

CouchDB 2.0 removed temporary views (``POST /db/_temp_view`` answers 410 Gone).
There the functions are saved in a design document named by a hash of their
source, ``_design/corduroy-query-<hash>``, with one view ``q``:

* the first query of a set of functions creates it (the server then builds the
  index once, like for any view: that first query takes as long as reading the
  whole database through the map function);
* later queries of the same functions find it and reuse the index (also from
  other processes: the name depends only on the functions);
* ``cleanup=True`` deletes it after the query, and ``db.query_cleanup()``
  deletes every one of them (then ``_view_cleanup`` frees the index files).

Writing a design document needs the right to (a database admin's, on CouchDB).

Where the server still has ``_temp_view`` (CouchDB 1.x, pouchdb-server), a
query posts the functions there instead and leaves nothing behind; the first
410 from a server is remembered (in its :class:`ServerTraits`), so later calls
go straight to the design document. ``design=True`` always uses the design
document, ``design=False`` only ``_temp_view``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..errors import Conflict, Forbidden, HTTPError, InvalidInput, NotFound, Unauthorized
from ..http.jsonexact import loads
from ..http.messages import Request
from ..rowstream import RowStream
from ..views import View, page_rows
from .base import JSON_HEADERS, Op, dumps, json_request, query_string
from .documents import DbRef
from .replication import ServerTraits
from .views import temp_view, view_query

__all__ = ["QUERY_PREFIX", "query", "query_cleanup", "query_design"]

#: the id prefix of the design documents ``db.query`` saves
QUERY_PREFIX = "_design/corduroy-query-"
_VIEW = "q"

_NO_RIGHTS = (
    "db.query() saves its functions in {ddoc} because this server has no temporary "
    "views (CouchDB 2.0 removed them), and these credentials may not write design "
    "documents: use a database admin's, or ask one to save the view"
)


def _functions(map_src: Any, reduce_src: Any, language: Any) -> dict[str, Any]:
    if not isinstance(map_src, str) or not map_src.strip():
        raise InvalidInput(f"map_src must be the source of a map function, not {map_src!r:.60}")
    if reduce_src is not None and not isinstance(reduce_src, str):
        raise InvalidInput(f"reduce_src must be a str or None, not {type(reduce_src).__name__}")
    if not isinstance(language, str) or not language:
        raise InvalidInput(f"language must be a non-empty str, not {language!r}")
    view: dict[str, Any] = {"map": map_src}
    if reduce_src is not None:
        # a built-in reduce with surrounding whitespace ("\n  _sum") is not recognised
        # by CouchDB 3 and fails to compile as JavaScript: send the bare name
        stripped = reduce_src.strip()
        view["reduce"] = stripped if stripped.startswith("_") else reduce_src
    return {"language": language, "views": {_VIEW: view}}


def query_design(map_src: str, reduce_src: str | None = None, language: str = "javascript") -> str:
    """The id of the design document that ``db.query`` saves these functions in."""
    body = _functions(map_src, reduce_src, language)
    digest = hashlib.sha256(dumps(body)).hexdigest()[:20]
    return QUERY_PREFIX + digest


def _view_path(db: DbRef, ddoc: str) -> str:
    name = ddoc[len("_design/") :]
    return f"{db.path}/_design/{quote(name, safe='')}/_view/{_VIEW}"


def _gone(exc: HTTPError) -> bool:
    """Does this answer to ``_temp_view`` mean "this server has none"?"""
    return exc.status in (400, 404, 405, 410, 501) and exc.error != "compilation_error"


def query(
    db: DbRef,
    traits: ServerTraits,
    map_src: str,
    reduce_src: str | None = None,
    language: str = "javascript",
    *,
    design: bool | None = None,
    cleanup: bool = False,
    **options: Any,
) -> Op[View]:
    """Run ``map_src`` (and ``reduce_src``) over the database: see the module docstring."""
    functions = _functions(map_src, reduce_src, language)
    reduce_src = functions["views"][_VIEW].get("reduce")
    if design is None and traits.temp_views is not False:
        try:
            view = yield from temp_view(db, map_src, reduce_src, language, **options)
        except HTTPError as exc:
            if not _gone(exc):
                raise
            traits.temp_views = False
        else:
            traits.temp_views = True
            return view
    elif design is False:
        view = yield from temp_view(db, map_src, reduce_src, language, **options)
        return view
    stream = bool(options.pop("stream", False))
    return (yield from _through_design(db, functions, cleanup, stream, options))


def _through_design(
    db: DbRef,
    functions: dict[str, Any],
    cleanup: bool,
    stream: bool,
    options: Mapping[str, Any],
) -> Op[View]:
    digest = hashlib.sha256(dumps(functions)).hexdigest()[:20]
    ddoc = QUERY_PREFIX + digest
    path = _view_path(db, ddoc)
    on_wire = not cleanup  # with cleanup the rows are read before the design doc goes
    for attempt in range(2):
        try:
            response = yield view_query(path, options, stream=on_wire, default=db.json_default)
            break
        except NotFound:
            if attempt:
                raise
        yield from _create(db, ddoc, functions)
    short = ddoc[len("_design/") :] + "/" + _VIEW
    if not cleanup:
        if stream:
            return RowStream(short, options, response, db.doc_class)  # type: ignore[return-value]
        return View(short, options, response, db.doc_class)
    rows, _ = page_rows(response.data, db.doc_class)
    whole = loads(response.data) if response.data else {}
    meta = {k: v for k, v in whole.items() if k != "rows"} if isinstance(whole, dict) else {}
    yield from _delete(db, ddoc)
    return View(short, options, doc_class=db.doc_class, meta=meta, rows=rows)


def _create(db: DbRef, ddoc: str, functions: dict[str, Any]) -> Op[None]:
    body = {"_id": ddoc, **functions}
    try:
        yield json_request("PUT", db.doc_path(ddoc), body)
    except Conflict:
        return  # another caller created it meanwhile: the same functions, by its name
    except (Unauthorized, Forbidden) as exc:
        raise type(exc)(
            exc.status, exc.error, _NO_RIGHTS.format(ddoc=ddoc),
            method=exc.method, url=exc.url, body=exc.body, headers=exc.headers,
        ) from exc  # fmt: skip


def _delete(db: DbRef, ddoc: str, rev: str | None = None) -> Op[bool]:
    """Delete design document ``ddoc`` (its current rev unless given); False if gone."""
    path = db.doc_path(ddoc)
    for _ in range(3):  # someone may update it meanwhile: read the rev again
        if rev is None:
            try:
                head = yield Request("GET", path)
            except NotFound:
                return False
            rev = head.json()["_rev"]
        try:
            yield Request("DELETE", path, "rev=" + quote(str(rev), safe=""))
        except NotFound:
            return False
        except Conflict:
            rev = None
            continue
        return True
    return False


def query_cleanup(db: DbRef) -> Op[int]:
    """Delete every design document ``db.query`` saved, then run ``_view_cleanup``.

    Returns how many were deleted.
    """
    response = yield Request(
        "GET", db.path + "/_all_docs",
        query_string({"startkey": QUERY_PREFIX, "endkey": QUERY_PREFIX + "\ufff0"},
                     ("startkey", "endkey")),
    )  # fmt: skip
    removed = 0
    for row in response.json().get("rows", ()):
        docid, rev = row.get("id"), (row.get("value") or {}).get("rev")
        if isinstance(docid, str) and docid.startswith(QUERY_PREFIX):
            deleted = yield from _delete(db, docid, rev)
            removed += deleted
    if removed:
        yield Request("POST", db.path + "/_view_cleanup", "", JSON_HEADERS)
    return removed
