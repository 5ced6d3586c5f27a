"""View operations: map/reduce views, ``_all_docs``, temporary views, paging,
design-document info and index maintenance."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from ..document import AttrDict
from ..errors import HTTPError, InvalidInput
from ..http.messages import Request
from ..rowstream import RowStream
from ..views import Row, View, page_rows
from .base import JSON_HEADERS, Op, dumps, query_string
from .documents import DbRef
from .io import Emit, Job

__all__ = [
    "JSON_OPTIONS",
    "VIEW_OPTIONS",
    "cleanup",
    "compact",
    "design_info",
    "query_view",
    "temp_view",
    "view_page",
    "view_pages",
    "view_path",
    "view_query",
]

#: options whose values are JSON (keys of the view)
JSON_OPTIONS = ("key", "keys", "startkey", "endkey", "start_key", "end_key")

#: every option CouchDB documents for views (others are passed through as they are)
VIEW_OPTIONS = frozenset(
    (
        *JSON_OPTIONS,
        "startkey_docid", "endkey_docid", "start_key_doc_id", "end_key_doc_id",
        "inclusive_end", "include_docs", "limit", "skip", "descending", "stale",
        "update", "stable", "update_seq", "reduce", "group", "group_level",
        "conflicts", "sorted", "attachments", "att_encoding_info", "partition",
    )
)  # fmt: skip


def view_path(db: DbRef, name: str) -> tuple[str, str]:
    """The request path of a view and its short name (``ddoc/view``).

    Accepts ``"ddoc/view"``, ``"_design/ddoc/_view/view"`` and database-level
    row lists such as ``"_all_docs"``.
    """
    if not isinstance(name, str) or not name:
        raise InvalidInput(f"a view name must be a non-empty str, not {name!r}")
    if name.startswith("_design/"):
        ddoc, sep, view = name[len("_design/") :].partition("/_view/")
    elif name.startswith("_"):
        if "/" in name:
            raise InvalidInput(f"unknown view {name!r}: use 'ddoc/view' or '_all_docs'")
        return db.path + "/" + quote(name, safe=""), name
    else:
        ddoc, sep, view = name.partition("/")
    if not sep or not ddoc or not view or "/" in view:
        raise InvalidInput(f"view name {name!r} must be 'ddoc/view' or '_design/ddoc/_view/view'")
    path = db.path + "/_design/" + quote(ddoc, safe="") + "/_view/" + quote(view, safe="")
    return path, f"{ddoc}/{view}"


def _encode_options(
    options: Mapping[str, Any], default: Callable[[Any], Any] | None = None
) -> tuple[str, Any]:
    """The query string and, when ``keys`` is given, the POST body."""
    opts = dict(options)
    keys = opts.pop("keys", None)
    body = None
    if keys is not None:
        if isinstance(keys, str | bytes) or not hasattr(keys, "__iter__"):
            raise InvalidInput(f"keys must be a list of keys, not {type(keys).__name__}")
        body = {"keys": list(keys)}
    update = opts.get("update")
    if isinstance(update, bool):
        opts["update"] = "true" if update else "false"
    return query_string(opts, JSON_OPTIONS, default), body


def view_query(
    path: str,
    options: Mapping[str, Any],
    *,
    stream: bool = True,
    default: Callable[[Any], Any] | None = None,
) -> Request:
    """``GET`` the view, or ``POST {"keys": [...]}`` when ``keys`` is given."""
    query, body = _encode_options(options, default)
    if body is None:
        return Request("GET", path, query, stream=stream)
    data = dumps(body, "keys", default)
    return Request("POST", path, query, JSON_HEADERS, data, stream=stream, idempotent=True)


def query_view(db: DbRef, name: str, stream: bool = False, **options: Any) -> Op[View]:
    """Query a view or ``_all_docs``; the rows stay on the wire (see ``View``).

    ``stream=True``: the result is a ``RowStream`` (rows one at a time, not kept).
    """
    path, short = view_path(db, name)
    response = yield view_query(path, options, default=db.json_default)
    if stream:
        return RowStream(short, options, response, db.doc_class)  # type: ignore[return-value]
    return View(short, options, response, db.doc_class)


_TEMP_GONE = (
    "this server has no temporary views (CouchDB 2.0 removed them): save the map "
    "function in a design document and query it with db.view('ddoc/view')"
)


def temp_view(
    db: DbRef,
    map_src: str,
    reduce_src: str | None = None,
    language: str = "javascript",
    stream: bool = False,
    **options: Any,
) -> Op[View]:
    """``POST /db/_temp_view``: run a map (and reduce) function once (CouchDB 1.x,
    pouchdb-server). On CouchDB 2+ the error says temporary views are gone.
    ``stream=True``: a ``RowStream`` instead of a ``View``."""
    query, keys = _encode_options(options, db.json_default)
    body: dict[str, Any] = {"language": language, "map": map_src}
    if reduce_src is not None:
        body["reduce"] = reduce_src
    if keys is not None:
        body.update(keys)
    request = Request(
        "POST", db.path + "/_temp_view", query, JSON_HEADERS, dumps(body, None, db.json_default),
        stream=True, idempotent=True,
    )  # fmt: skip
    try:
        response = yield request
    except HTTPError as exc:
        if exc.status in (400, 404, 405, 410, 501) and exc.error != "compilation_error":
            raise type(exc)(
                exc.status, exc.error, _TEMP_GONE,
                method=exc.method, url=exc.url, body=exc.body, headers=exc.headers,
            ) from exc  # fmt: skip
        raise
    if stream:
        return RowStream("_temp_view", options, response, db.doc_class)  # type: ignore[return-value]
    return View("_temp_view", options, response, db.doc_class)


def view_page(db: DbRef, name: str, options: Mapping[str, Any]) -> Op[tuple[list[Row], Any]]:
    """One page of a view read whole (for ``iterview``): its rows and ``update_seq``."""
    path, _ = view_path(db, name)
    response = yield view_query(path, options, stream=False, default=db.json_default)
    return page_rows(response.data, db.doc_class)


def _same_key(a: Any, b: Any) -> bool:
    return type(a) is type(b) and dumps(a) == dumps(b)  # True == 1 in Python, not in views


def view_pages(db: DbRef, name: str, batch: int, options: Mapping[str, Any]) -> Job[None]:
    """The rows of ``iterview``, one ``Emit`` per page (an operation: ops/io.py).

    Each page asks for ``batch + 1`` rows; the extra row starts the next page,
    by its key and doc id (``startkey_docid``), so duplicate keys across a page
    boundary are safe. A server that ignores ``startkey_docid`` (pouchdb-server)
    is noticed at the first page that does not start at the expected id; from
    then on the next page starts at the key and skips the rows of that key
    already handed out. With ``keys``, the keys are sent ``batch`` at a time.
    ``limit`` and ``skip`` apply to the whole iteration.
    """
    opts = dict(options)
    limit = opts.pop("limit", None)
    remaining = -1 if limit is None else int(limit)  # -1: no limit
    keys = opts.pop("keys", None)
    if keys is not None:
        keys = list(keys)
        for start in range(0, len(keys), batch):
            if remaining == 0:
                return
            page: dict[str, Any] = {**opts, "keys": keys[start : start + batch]}
            if remaining > 0:
                page["limit"] = remaining
            rows, _ = yield from view_page(db, name, page)
            yield Emit(rows)
            remaining = max(remaining - len(rows), 0) if remaining > 0 else -1
        return
    base = {k: v for k, v in opts.items() if k not in _START_OPTIONS}
    current: dict[str, Any] = opts
    expect_id: str | None = None  # the doc id the page must start at
    docid_ignored = False
    while remaining != 0:
        size = batch if remaining < 0 else min(batch, remaining)
        rows, _ = yield from view_page(db, name, {**current, "limit": size + 1})
        while expect_id is not None and rows and rows[0].id != expect_id:
            # The server ignored startkey_docid, or skip did not land on the row:
            # look for it further on, then ask for the page that starts at it.
            if not docid_ignored:
                docid_ignored = True
                current = {k: v for k, v in current.items() if k != "startkey_docid"}
            skip = int(current.get("skip", 0))
            found = next((i for i, row in enumerate(rows) if row.id == expect_id), None)
            if found is None and len(rows) <= size:
                return  # the row is gone (deleted meanwhile): nothing follows it
            current = {**current, "skip": skip + (len(rows) if found is None else found)}
            rows, _ = yield from view_page(db, name, {**current, "limit": size + 1})
        out = rows[:size]
        yield Emit(out)
        if remaining > 0:
            remaining -= len(out)
        if len(rows) <= size:
            return
        nxt = rows[size]
        expect_id = nxt.id
        if not docid_ignored:
            current = {**base, "startkey": nxt.key}
            if expect_id is not None:
                current["startkey_docid"] = expect_id
            continue
        # pouchdb-server: start at the key, skipping the rows of that key before nxt
        before = 0
        for row in reversed(rows[:size]):
            if not _same_key(row.key, nxt.key):
                break
            before += 1
        if before == size and _same_key(current.get("startkey"), nxt.key):
            before += int(current.get("skip", 0))
        current = {**base, "startkey": nxt.key}
        if before:
            current["skip"] = before


_START_OPTIONS = frozenset(("startkey", "start_key", "startkey_docid", "start_key_doc_id", "skip"))


def design_info(db: DbRef, ddoc: str) -> Op[AttrDict]:
    """``GET /db/_design/ddoc/_info``: the view index's size, signature, state."""
    name = ddoc[len("_design/") :] if ddoc.startswith("_design/") else ddoc
    response = yield Request("GET", db.doc_path("_design/" + name, "_info"))
    return AttrDict(response.json())


def compact(db: DbRef, ddoc: str | None = None) -> Op[AttrDict]:
    """``POST /db/_compact`` (the database) or ``/db/_compact/ddoc`` (its view index)."""
    path = db.path + "/_compact"
    if ddoc is not None:
        name = ddoc[len("_design/") :] if ddoc.startswith("_design/") else ddoc
        path += "/" + quote(name, safe="")
    response = yield Request("POST", path, "", JSON_HEADERS)
    return AttrDict(response.json() or {"ok": True})


def cleanup(db: DbRef) -> Op[AttrDict]:
    """``POST /db/_view_cleanup``: delete index files no design document uses."""
    response = yield Request("POST", db.path + "/_view_cleanup", "", JSON_HEADERS)
    return AttrDict(response.json() or {"ok": True})
