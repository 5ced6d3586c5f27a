"""Design documents from a dict or from a folder of ``.js`` files (couchapp layout).

A folder holds one design document::

    agenda/                      -> _design/agenda (or the id in an `_id` file)
      views/byday/map.js
      views/byday/reduce.js      (JavaScript, or a built-in such as `_count`)
      shows/csv.js
      lists/html.js
      updates/stamp.js
      filters/important.js
      validate_doc_update.js
      language                   (optional; "javascript" otherwise)

Each file holds one function's source. :func:`design_doc` turns a folder or a
dict into the document ``Database.sync_design`` writes. Reading the files is
the only I/O here; it happens before any request is made.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import InvalidInput

__all__ = ["design_doc", "load_design_folder"]

_FUNCTION_FOLDERS = ("shows", "lists", "updates", "filters")


def _source(path: Path) -> str:
    return path.read_text(encoding="utf-8").strip()


def _functions(folder: Path) -> dict[str, str]:
    if not folder.is_dir():
        return {}
    return {p.stem: _source(p) for p in sorted(folder.glob("*.js")) if p.is_file()}


def _views(folder: Path) -> dict[str, dict[str, str]]:
    views: dict[str, dict[str, str]] = {}
    if not folder.is_dir():
        return views
    for view_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        view: dict[str, str] = {}
        for part in ("map", "reduce"):
            file = view_dir / f"{part}.js"
            if file.is_file():
                view[part] = _source(file)
        if "map" not in view:
            raise InvalidInput(f"view folder {str(view_dir)!r} has no map.js")
        views[view_dir.name] = view
    return views


def load_design_folder(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a couchapp-style folder into a design document dict."""
    root = Path(folder)
    if not root.is_dir():
        raise InvalidInput(f"design folder {str(root)!r} is not a directory")
    id_file = root / "_id"
    docid = _source(id_file) if id_file.is_file() else "_design/" + root.resolve().name
    language_file = root / "language"
    doc: dict[str, Any] = {
        "_id": docid,
        "language": _source(language_file) if language_file.is_file() else "javascript",
    }
    views = _views(root / "views")
    if views:
        doc["views"] = views
    for kind in _FUNCTION_FOLDERS:
        functions = _functions(root / kind)
        if functions:
            doc[kind] = functions
    vdu = root / "validate_doc_update.js"
    if vdu.is_file():
        doc["validate_doc_update"] = _source(vdu)
    if len(doc) == 2:
        raise InvalidInput(
            f"design folder {str(root)!r} has no views/, shows/, lists/, updates/, filters/ "
            "or validate_doc_update.js"
        )
    return doc


def design_doc(source: Any, name: str | None = None) -> dict[str, Any]:
    """The design document for ``source`` (a dict or a folder path).

    ``name`` (``"agenda"`` or ``"_design/agenda"``) overrides the id; otherwise
    a dict's ``_id`` or the folder's ``_id`` file or name is used. A dict's
    ``_id`` may leave out the ``_design/`` prefix.
    """
    if isinstance(source, Mapping):
        doc = dict(source)
    elif isinstance(source, str | os.PathLike):
        doc = load_design_folder(source)
    else:
        raise InvalidInput(
            f"sync_design takes a dict or a folder path, not {type(source).__name__}"
        )
    docid = name if name is not None else doc.get("_id")
    if not isinstance(docid, str) or not docid.strip("/"):
        raise InvalidInput("a design document needs a name: give the dict an '_id' or pass name=")
    if not docid.startswith("_design/"):
        docid = "_design/" + docid
    doc["_id"] = docid
    return doc
