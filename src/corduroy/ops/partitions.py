"""Partitioned databases (CouchDB 3): queries scoped to one partition.

A partitioned database (``couch.create(name, partitioned=True)``) keeps
documents with ids ``partition:docid`` together; views and Mango indexes
defined as partitioned are queried under ``/db/_partition/{partition}/``.
pouchdb-server has no partitions.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ..document import AttrDict
from ..errors import InvalidInput
from ..http.messages import Request
from ..rowstream import RowStream
from ..views import FoundStream, View
from .base import JSON_HEADERS, Op, dumps, json_request
from .documents import DbRef
from .mango import find_body
from .views import view_query

__all__ = [
    "partition_all_docs",
    "partition_explain",
    "partition_find",
    "partition_info",
    "partition_path",
    "partition_view",
]


def partition_path(db: DbRef, partition: str) -> str:
    """``/db/_partition/{partition}``; a partition is a non-empty str without ``:``."""
    if not isinstance(partition, str) or not partition:
        raise InvalidInput(f"a partition key must be a non-empty str, not {partition!r}")
    if ":" in partition:
        raise InvalidInput(
            f"partition key {partition!r} contains ':' (document ids are 'partition:docid')"
        )
    return db.path + "/_partition/" + quote(partition, safe="")


def partition_info(db: DbRef, partition: str) -> Op[AttrDict]:
    """``GET /db/_partition/{p}``: ``doc_count``, ``doc_del_count``, ``sizes``."""
    response = yield Request("GET", partition_path(db, partition))
    return AttrDict(response.json())


def partition_all_docs(db: DbRef, partition: str, stream: bool = False, **options: Any) -> Op[View]:
    """The partition's documents in id order (``_all_docs`` options);
    ``stream=True``: a ``RowStream``."""
    response = yield view_query(partition_path(db, partition) + "/_all_docs", options)
    if stream:
        return RowStream("_all_docs", options, response, db.doc_class)  # type: ignore[return-value]
    return View("_all_docs", options, response, db.doc_class)


def _view_suffix(name: str) -> tuple[str, str]:
    if not isinstance(name, str):
        raise InvalidInput(f"a view name must be a str, not {name!r}")
    if name.startswith("_design/"):
        ddoc, sep, view = name[len("_design/") :].partition("/_view/")
    else:
        ddoc, sep, view = name.partition("/")
    if not sep or not ddoc or not view or "/" in view:
        raise InvalidInput(f"view name {name!r} must be 'ddoc/view' or '_design/ddoc/_view/view'")
    return "/_design/" + quote(ddoc, safe="") + "/_view/" + quote(view, safe=""), f"{ddoc}/{view}"


def partition_view(
    db: DbRef, partition: str, name: str, stream: bool = False, **options: Any
) -> Op[View]:
    """Query partitioned view ``ddoc/view`` within one partition; ``stream=True``: a
    ``RowStream``."""
    suffix, short = _view_suffix(name)
    response = yield view_query(partition_path(db, partition) + suffix, options)
    if stream:
        return RowStream(short, options, response, db.doc_class)  # type: ignore[return-value]
    return View(short, options, response, db.doc_class)


def partition_find(
    db: DbRef, partition: str, selector: Mapping[str, Any], **options: Any
) -> Op[FoundStream]:
    """Mango ``_find`` within one partition (same options as ``db.find``)."""
    path = partition_path(db, partition) + "/_find"
    body = dumps(find_body(selector, **options))
    response = yield Request("POST", path, "", JSON_HEADERS, body, stream=True, idempotent=True)
    return FoundStream(response, db.doc_class)


def partition_explain(
    db: DbRef, partition: str, selector: Mapping[str, Any], **options: Any
) -> Op[AttrDict]:
    """How CouchDB would run a ``_find`` within one partition (``_explain``)."""
    body = find_body(selector, **options)
    response = yield json_request(
        "POST", partition_path(db, partition) + "/_explain", body, idempotent=True
    )
    return AttrDict(response.json())
