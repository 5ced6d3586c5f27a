"""Design documents from dicts and couchapp folders; sync_design writes only changes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from corduroy import Conflict, InvalidInput, NotFound
from corduroy.design import design_doc, load_design_folder
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops.documents import DbRef
from corduroy.ops.formatters import sync_design

MAP = "function(doc) { if (doc.day) emit(doc.day, doc.who); }"


def make_folder(root: Path) -> Path:
    folder = root / "agenda"
    files = {
        "views/byday/map.js": MAP + "\n",
        "views/byday/reduce.js": "_count\n",
        "views/names/map.js": "function(doc) { emit(doc.name, null); }",
        "shows/csv.js": "function(doc, req) { return doc._id; }",
        "lists/html.js": "function(head, req) { send('<ul>'); }",
        "updates/stamp.js": "function(doc, req) { return [doc, 'ok']; }",
        "filters/mine.js": "function(doc, req) { return true; }",
        "validate_doc_update.js": "function(n, o, u) { }",
        "shows/README.txt": "not a function",
    }
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder


def test_folder_layout_becomes_a_design_document(tmp_path: Path) -> None:
    doc = load_design_folder(make_folder(tmp_path))
    assert doc == {
        "_id": "_design/agenda",
        "language": "javascript",
        "views": {
            "byday": {"map": MAP, "reduce": "_count"},
            "names": {"map": "function(doc) { emit(doc.name, null); }"},
        },
        "shows": {"csv": "function(doc, req) { return doc._id; }"},
        "lists": {"html": "function(head, req) { send('<ul>'); }"},
        "updates": {"stamp": "function(doc, req) { return [doc, 'ok']; }"},
        "filters": {"mine": "function(doc, req) { return true; }"},
        "validate_doc_update": "function(n, o, u) { }",
    }


def test_folder_id_file_and_name_override(tmp_path: Path) -> None:
    folder = make_folder(tmp_path)
    (folder / "_id").write_text("_design/meetings\n")
    assert design_doc(folder)["_id"] == "_design/meetings"
    assert design_doc(str(folder), "other")["_id"] == "_design/other"


def test_dict_source_gets_the_design_prefix_and_is_copied() -> None:
    source = {"_id": "records", "shows": {}}
    doc = design_doc(source)
    assert doc["_id"] == "_design/records"
    assert source["_id"] == "records"


@pytest.mark.parametrize("source", [{"views": {}}, 42, {"_id": ""}])
def test_unusable_sources_are_refused(source: Any) -> None:
    with pytest.raises(InvalidInput):
        design_doc(source)


def test_folder_without_functions_or_map_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="no views"):
        load_design_folder(tmp_path)
    (tmp_path / "views" / "broken").mkdir(parents=True)
    with pytest.raises(InvalidInput, match=r"map\.js"):
        load_design_folder(tmp_path)
    with pytest.raises(InvalidInput, match="not a directory"):
        load_design_folder(tmp_path / "missing")


def _json(status: int, body: Any) -> Response:
    headers = Headers({"Content-Type": "application/json"})
    return Response(status, headers, json.dumps(body).encode())


def _not_found(request: Request) -> NotFound:
    return NotFound(404, "not_found", "missing", method=request.method, url=request.path)


def test_sync_creates_a_missing_design_doc() -> None:
    doc = design_doc({"_id": "d", "views": {"v": {"map": MAP}}})
    op = sync_design(DbRef("db"), doc)
    get = next(op)
    assert (get.method, get.path) == ("GET", "/db/_design/d")
    put = op.throw(_not_found(get))
    assert (put.method, put.path) == ("PUT", "/db/_design/d")
    assert json.loads(put.body) == {"_id": "_design/d", "views": {"v": {"map": MAP}}}  # type: ignore[arg-type]
    with pytest.raises(StopIteration) as done:
        op.send(_json(201, {"ok": True, "id": "_design/d", "rev": "1-a"}))
    assert done.value.value is True
    assert doc["_rev"] == "1-a"


def test_sync_writes_nothing_when_unchanged() -> None:
    doc = design_doc({"_id": "d", "views": {"v": {"map": MAP}}})
    op = sync_design(DbRef("db"), doc)
    next(op)
    stored = {"_id": "_design/d", "_rev": "3-x", "views": {"v": {"map": MAP}}}
    with pytest.raises(StopIteration) as done:
        op.send(_json(200, stored))
    assert done.value.value is False


def test_sync_updates_a_changed_doc_on_its_current_rev_keeping_attachments() -> None:
    doc = design_doc({"_id": "d", "_rev": "1-stale", "views": {"v": {"map": MAP}}})
    op = sync_design(DbRef("db"), doc)
    next(op)
    atts = {"logo.png": {"stub": True, "digest": "md5-x", "content_type": "image/png"}}
    stored = {"_id": "_design/d", "_rev": "3-x", "views": {}, "_attachments": atts}
    put = op.send(_json(200, stored))
    sent = json.loads(put.body)  # type: ignore[arg-type]
    assert sent["_rev"] == "3-x"
    assert sent["views"] == {"v": {"map": MAP}}
    assert sent["_attachments"] == atts
    with pytest.raises(StopIteration) as done:
        op.send(_json(201, {"ok": True, "id": "_design/d", "rev": "4-y"}))
    assert done.value.value is True


def test_sync_conflict_is_raised() -> None:
    op = sync_design(DbRef("db"), design_doc({"_id": "d", "shows": {}}))
    get = next(op)
    put = op.throw(_not_found(get))
    with pytest.raises(Conflict):
        op.throw(Conflict(409, "conflict", "Document update conflict.", method="PUT", url=put.path))
