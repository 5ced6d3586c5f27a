"""Documents: dicts whose items are also attributes.

``Document`` is what corduroy returns for CouchDB documents; ``AttrDict`` is the
same without the document repr (database info, nested objects). Nested plain
dicts become ``AttrDict`` when first reached through an attribute or item, so
``doc.address.city`` works without converting a whole document up front.
"""

from __future__ import annotations

import base64
import mimetypes
from typing import Any

import orjson

__all__ = ["AttrDict", "Document", "InlineData"]

_REPR_WIDTH = 72


class AttrDict(dict[str, Any]):
    """A ``dict`` whose string keys can also be read and written as attributes."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}") from None

    def __getitem__(self, key: str) -> Any:
        value = dict.__getitem__(self, key)
        if type(value) is dict:
            value = AttrDict(value)
            dict.__setitem__(self, key, value)
        elif type(value) is list:
            _wrap_list(value)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default

    def __dir__(self) -> list[str]:
        return [*super().__dir__(), *(k for k in self if isinstance(k, str))]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict.__repr__(self)})"


def _wrap_list(items: list[Any]) -> None:
    for i, item in enumerate(items):
        if type(item) is dict:
            items[i] = AttrDict(item)


def _render(value: Any) -> str:
    if isinstance(value, str):
        return orjson.dumps(value).decode()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}:{_render(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_render(v) for v in value) + "]"
    return repr(value)


class InlineData(bytes):
    """The bytes of an inline attachment (``get(id, attachments=True)``).

    Sent back base64-encoded when the document is saved again; plain ``bytes``
    in a document are still refused, since JSON cannot carry them.
    """

    __slots__ = ()


class Document(AttrDict):
    """A CouchDB document.

    Its repr shows the id, the revision number and the first fields::

        <Document lackey-129[2] {first:"Oliver", last:"Reeder", education:"Oxbridge"}>
    """

    __slots__ = ()

    def __repr__(self) -> str:
        head = "<Document"
        docid = dict.get(self, "_id")
        if docid is not None:
            head += f" {docid}"
        rev = dict.get(self, "_rev")
        if isinstance(rev, str) and "-" in rev:
            head += f"[{rev.split('-', 1)[0]}]"
        fields = [f"{k}:{_render(v)}" for k, v in self.items() if not str(k).startswith("_")]
        shown: list[str] = []
        width = 0
        for item in fields:
            if shown and width + len(item) > _REPR_WIDTH:
                shown.append("...")
                break
            shown.append(item)
            width += len(item) + 2
        return f"{head} {{{', '.join(shown)}}}>"

    def attach(self, name: str, data: bytes | str, content_type: str | None = None) -> None:
        """Add a small attachment inline (base64-encoded), written by the next ``save``.

        A ``str`` is stored as UTF-8; the type is guessed from ``name`` unless
        given. Use ``Database.put_attachment`` for large data: it streams.
        """
        if isinstance(data, str):
            data = data.encode("utf-8")
            default = "text/plain;charset=utf-8"
        else:
            default = "application/octet-stream"
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"attachment data must be bytes or str, not {type(data).__name__}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"an attachment needs a non-empty name, not {name!r}")
        kind = content_type or mimetypes.guess_type(name, strict=False)[0] or default
        stubs = dict.get(self, "_attachments")
        if not isinstance(stubs, dict):
            stubs = {}
            dict.__setitem__(self, "_attachments", stubs)
        stubs[name] = {"content_type": kind, "data": base64.b64encode(data).decode("ascii")}
