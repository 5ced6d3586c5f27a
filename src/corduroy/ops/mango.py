"""Mango operations: ``_find``, paging it, ``_index`` and ``_explain``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ..document import AttrDict
from ..errors import InvalidInput
from ..http.messages import Request
from ..views import FindResult, FoundStream
from .base import JSON_HEADERS, Op, dumps, json_request
from .documents import DbRef
from .io import Emit, Job

__all__ = [
    "create_index",
    "delete_index",
    "explain",
    "find",
    "find_body",
    "find_page",
    "find_pages",
    "list_indexes",
    "next_find",
]


def find_body(
    selector: Mapping[str, Any],
    fields: Sequence[str] | None = None,
    sort: Sequence[Any] | None = None,
    limit: int | None = None,
    skip: int | None = None,
    use_index: str | Sequence[str] | None = None,
    bookmark: str | None = None,
    execution_stats: bool = False,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON body of a ``_find`` (``extra``: ``r``, ``conflicts``, ``update``,
    ``stable``, ``allow_fallback``, ...)."""
    if not isinstance(selector, Mapping):
        raise InvalidInput(f"a Mango selector must be a dict, not {type(selector).__name__}")
    body: dict[str, Any] = {"selector": dict(selector)}
    if fields is not None:
        body["fields"] = [fields] if isinstance(fields, str) else list(fields)
    if sort is not None:
        body["sort"] = [sort] if isinstance(sort, str | Mapping) else list(sort)
    if limit is not None:
        body["limit"] = limit
    if skip:
        body["skip"] = skip
    if use_index is not None:
        body["use_index"] = use_index if isinstance(use_index, str) else list(use_index)
    if bookmark is not None:
        body["bookmark"] = bookmark
    if execution_stats:
        body["execution_stats"] = True
    body.update((k, v) for k, v in extra.items() if v is not None)
    return body


def _find_request(db: DbRef, body: Mapping[str, Any], stream: bool) -> Request:
    data = dumps(body, "the selector", db.json_default)
    return Request(
        "POST", db.path + "/_find", "", JSON_HEADERS, data, stream=stream, idempotent=True
    )


def find(db: DbRef, selector: Mapping[str, Any], **options: Any) -> Op[FoundStream]:
    """``POST /db/_find``: the documents stream in and become a ``FindResult``."""
    response = yield _find_request(db, find_body(selector, **options), True)
    return FoundStream(response, db.doc_class)


def find_page(db: DbRef, body: Mapping[str, Any]) -> Op[FindResult]:
    """One ``_find`` page read whole (for ``iterfind``)."""
    response = yield _find_request(db, body, False)
    data = response.json() or {}
    make = db.doc_class
    return FindResult([make(doc) for doc in data.get("docs", ())], data)


def find_pages(db: DbRef, batch: int, body: Mapping[str, Any]) -> Job[None]:
    """The documents of ``iterfind``, one ``Emit`` per page of ``batch`` (ops/io.py).

    ``limit`` in ``body`` applies to the whole iteration.
    """
    following: dict[str, Any] | None = dict(body)
    limit = body.get("limit")
    remaining = -1 if limit is None else int(limit)  # -1: no limit
    while following is not None and remaining != 0:
        size = batch if remaining < 0 else min(batch, remaining)
        following["limit"] = size
        page = yield from find_page(db, following)
        yield Emit(list(page))
        if remaining > 0:
            remaining -= len(page)
        following = next_find(following, page, size)


def next_find(body: Mapping[str, Any], page: FindResult, asked: int) -> dict[str, Any] | None:
    """The body of the ``_find`` after ``page`` (``asked`` docs were asked for), or None.

    CouchDB pages by ``bookmark``; a server without bookmarks (pouchdb-server)
    pages by ``skip``.
    """
    if len(page) < asked or not page:
        return None
    following = dict(body)
    if page.bookmark and page.bookmark != body.get("bookmark"):
        following["bookmark"] = page.bookmark
        following.pop("skip", None)
    elif page.bookmark:
        return None  # the same bookmark again: past the end
    else:
        following["skip"] = int(body.get("skip") or 0) + len(page)
    return following


def _ddoc_name(ddoc: str) -> str:
    return ddoc[len("_design/") :] if ddoc.startswith("_design/") else ddoc


def create_index(
    db: DbRef,
    fields: Sequence[Any],
    name: str | None = None,
    ddoc: str | None = None,
    type: str | None = None,
    partial_filter_selector: Mapping[str, Any] | None = None,
    **extra: Any,
) -> Op[AttrDict]:
    """``POST /db/_index``: ``{result: "created" | "exists", id, name}``."""
    if isinstance(fields, str):
        fields = [fields]
    index: dict[str, Any] = {"fields": list(fields)}
    if partial_filter_selector is not None:
        index["partial_filter_selector"] = dict(partial_filter_selector)
    body: dict[str, Any] = {"index": index}
    if type is not None:
        body["type"] = type
    if name is not None:
        body["name"] = name
    if ddoc is not None:
        body["ddoc"] = _ddoc_name(ddoc)
    body.update((k, v) for k, v in extra.items() if v is not None)
    response = yield json_request("POST", db.path + "/_index", body)
    return AttrDict(response.json())


def list_indexes(db: DbRef) -> Op[list[AttrDict]]:
    """``GET /db/_index``: every index, the special ``_all_docs`` one first."""
    response = yield Request("GET", db.path + "/_index")
    return [AttrDict(index) for index in (response.json() or {}).get("indexes", ())]


def delete_index(
    db: DbRef, ddoc: str | Mapping[str, Any], name: str | None = None, type: str = "json"
) -> Op[AttrDict]:
    """``DELETE /db/_index/ddoc/json/name``; ``ddoc`` may be an entry of ``indexes()``."""
    if isinstance(ddoc, Mapping):
        name = name or ddoc.get("name")
        type = ddoc.get("type") or type
        ddoc = ddoc.get("ddoc") or ""
    if not ddoc or not name:
        raise InvalidInput("delete_index needs the index's design document and name")
    path = "/".join(
        (db.path, "_index", quote(_ddoc_name(ddoc), safe=""), quote(type, safe=""),
         quote(name, safe=""))
    )  # fmt: skip
    response = yield Request("DELETE", path)
    return AttrDict(response.json())


def explain(db: DbRef, selector: Mapping[str, Any], **options: Any) -> Op[AttrDict]:
    """``POST /db/_explain``: the index a ``_find`` would use, and why."""
    body = find_body(selector, **options)
    response = yield json_request("POST", db.path + "/_explain", body, idempotent=True)
    return AttrDict(response.json())
