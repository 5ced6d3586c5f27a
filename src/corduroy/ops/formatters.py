"""Show, list and update functions, and writing design documents.

Formatter calls send the caller's ``Accept`` header (``*/*`` unless told),
not ``application/json``: show and list functions pick their output format by
it (``provides()``). Their answer is a :class:`FormatterResponse` whose body is
decoded by its Content-Type. An error status (a missing function, a function
that throws, a ``validate_doc_update`` rejection, or a code the function chose
itself) raises the matching :class:`~corduroy.errors.HTTPError`, whose
``body`` and ``headers`` hold what the server sent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from ..errors import InvalidInput, NotFound
from ..http.messages import Headers, Request, Response
from .base import Op, doc_path, json_request, query_string, validate_id
from .documents import DbRef

__all__ = [
    "VIEW_JSON_OPTIONS",
    "FormatterResponse",
    "decode_body",
    "list_view",
    "show",
    "split_function_name",
    "sync_design",
    "update",
]

#: view options whose values are JSON (also for list functions)
VIEW_JSON_OPTIONS = ("key", "keys", "startkey", "endkey", "start_key", "end_key")

_TEXT_APPLICATION_TYPES = frozenset(
    ("application/xml", "application/javascript", "application/ecmascript")
)


def _media_type(content_type: str) -> tuple[str, str | None]:
    """``text/csv; charset=latin-1`` -> (``text/csv``, ``latin-1``)."""
    mime, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset" and value.strip():
            charset = value.strip().strip('"')
    return mime.strip().lower(), charset


def _is_json_type(mime: str) -> bool:
    return mime == "application/json" or (
        mime.startswith("application/") and mime.endswith("+json")
    )


def _is_text_type(mime: str) -> bool:
    return mime.startswith("text/") or mime in _TEXT_APPLICATION_TYPES or mime.endswith("+xml")


def _as_text(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", "replace")
    except LookupError:  # a charset Python does not know
        return body.decode("utf-8", "replace")


def decode_body(content_type: str, body: bytes) -> Any:
    """A body as its Content-Type says: JSON decoded, text as ``str``, else ``bytes``.

    A JSON body that does not parse is returned as text rather than lost.
    """
    mime, charset = _media_type(content_type)
    if _is_json_type(mime):
        if not body.strip():
            return None
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            return _as_text(body, charset)
    if _is_text_type(mime):
        return _as_text(body, charset)
    return body


class FormatterResponse:
    """What a show, list or update function answered.

    ``code`` is the HTTP status, ``headers`` the response headers (looked up
    case-insensitively) and ``body`` the decoded body: JSON for a JSON content
    type, ``str`` for text types, ``bytes`` otherwise. After an update handler
    wrote a document, ``id`` and ``rev`` say which and at what revision.
    """

    __slots__ = ("body", "code", "headers")

    def __init__(self, code: int, headers: Headers, body: Any) -> None:
        self.code = code
        self.headers = headers
        self.body = body

    @classmethod
    def from_response(cls, response: Response) -> FormatterResponse:
        return cls(
            response.status, response.headers, decode_body(response.content_type, response.body)
        )

    @property
    def content_type(self) -> str:
        """The Content-Type header (``""`` if there was none)."""
        return self.headers.get("content-type", "")

    @property
    def id(self) -> str | None:
        """The id of the document an update handler wrote (``X-Couch-Id``)."""
        return self.headers.get("x-couch-id")

    @property
    def rev(self) -> str | None:
        """The new revision an update handler wrote (``X-Couch-Update-NewRev``)."""
        return self.headers.get("x-couch-update-newrev")

    def __repr__(self) -> str:
        mime = _media_type(self.content_type)[0] or "no content type"
        size = len(self.body) if isinstance(self.body, str | bytes) else None
        what = f", {size} {'chars' if isinstance(self.body, str) else 'bytes'}" if size else ""
        return f"<FormatterResponse {self.code} {mime}{what}>"


def split_function_name(name: Any, kind: str) -> tuple[str, str]:
    """The design document and function of a ``kind`` (show, list, update) name.

    Every spelling the original corduroy took: ``"ddoc/func"``,
    ``"_design/ddoc/func"`` and the path ``"_design/ddoc/_show/func"``.
    """
    if not isinstance(name, str):
        raise InvalidInput(f"{kind} name must be a str like 'ddoc/name', not {name!r}")
    full = name
    if name.startswith("_design/"):
        name = name[len("_design/") :]
        ddoc, slash, func = name.partition("/")
        segment, inner, rest = func.partition("/")
        if segment == "_" + kind and inner:
            func = rest
        elif segment.startswith("_") and inner:
            raise InvalidInput(
                f"{kind} name {full!r} names a {segment} function, not a _{kind} one"
            )
    else:
        ddoc, slash, func = name.partition("/")
    if not slash or not ddoc or not func:
        raise InvalidInput(
            f"{kind} name must look like 'designdoc/{kind}name' or "
            f"'_design/designdoc/_{kind}/{kind}name', got {full!r}"
        )
    return ddoc, func


def _design_path(db: DbRef, ddoc: str, *parts: str) -> str:
    path = doc_path(db.name, "_design/" + ddoc)
    for part in parts:
        path += "/" + quote(part, safe="")
    return path


def _accept(accept: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(accept, str) or not accept:
        raise InvalidInput(f"accept must be a media range such as '*/*', not {accept!r}")
    return (("Accept", accept),)


def show(
    db: DbRef, name: str, docid: str | None = None, accept: str = "*/*", **query: Any
) -> Op[FormatterResponse]:
    """``GET /db/_design/d/_show/f[/docid]``: format one document (or none)."""
    ddoc, func = split_function_name(name, "show")
    path = _design_path(db, ddoc, "_show", func)
    if docid is not None:
        path += "/" + quote(validate_id(docid), safe="")
    response = yield Request("GET", path, query_string(query), _accept(accept))
    return FormatterResponse.from_response(response)


def list_view(
    db: DbRef, name: str, view: str, accept: str = "*/*", **options: Any
) -> Op[FormatterResponse]:
    """``/db/_design/d/_list/f/view``: format a view's rows with a list function.

    ``view`` names a view of the same design document, or ``other/view`` one of
    another. View options (``key``, ``startkey``, ``limit``, ``descending``,
    ...) apply; ``keys`` is sent in a POST body.
    """
    ddoc, func = split_function_name(name, "list")
    if not isinstance(view, str) or not view:
        raise InvalidInput(f"list needs a view name such as 'byname' or 'ddoc/byname': {view!r}")
    if view.startswith("_design/"):
        view = view[len("_design/") :]
    view_parts = view.split("/")
    if len(view_parts) > 2 or not all(view_parts):
        raise InvalidInput(f"view must be 'name' or 'designdoc/name', got {view!r}")
    path = _design_path(db, ddoc, "_list", func, *view_parts)
    keys = options.pop("keys", None)
    query = query_string(options, VIEW_JSON_OPTIONS)
    if keys is None:
        response = yield Request("GET", path, query, _accept(accept))
    else:
        response = yield json_request(
            "POST",
            path,
            {"keys": list(keys)},
            query=query,
            idempotent=True,
            headers=_accept(accept),
        )
    return FormatterResponse.from_response(response)


def _form_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value).decode()


def _form_pairs(fields: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for key, value in fields.items():
        if isinstance(value, list | tuple):
            for item in value:
                yield str(key), _form_value(item)
        else:
            yield str(key), _form_value(value)


def encode_update_body(body: Any, content_type: str | None) -> tuple[bytes | None, str | None]:
    """The bytes and Content-Type for an update handler's request body.

    A mapping is form-encoded (it arrives in ``req.form``), a ``str`` is sent as
    UTF-8 text and ``bytes`` as they are (both arrive in ``req.body``).
    """
    if body is None:
        return None, content_type
    if isinstance(body, Mapping):
        data = urlencode(list(_form_pairs(body))).encode("ascii")
        return data, content_type or "application/x-www-form-urlencoded"
    if isinstance(body, str):
        return body.encode("utf-8"), content_type or "text/plain; charset=utf-8"
    if isinstance(body, bytes | bytearray | memoryview):
        return bytes(body), content_type or "application/octet-stream"
    raise InvalidInput(
        f"an update body must be a dict (form), str or bytes, not {type(body).__name__}"
    )


def update(
    db: DbRef,
    name: str,
    docid: str | None = None,
    body: Any = None,
    accept: str = "*/*",
    content_type: str | None = None,
    **query: Any,
) -> Op[FormatterResponse]:
    """Call an update handler: ``PUT .../_update/f/docid``, or ``POST .../_update/f``."""
    ddoc, func = split_function_name(name, "update")
    path = _design_path(db, ddoc, "_update", func)
    method = "POST"
    if docid is not None:
        path += "/" + quote(validate_id(docid), safe="")
        method = "PUT"
    data, ctype = encode_update_body(body, content_type)
    headers = _accept(accept)
    if ctype:
        headers += (("Content-Type", ctype),)
    response = yield Request(method, path, query_string(query), headers, data)
    return FormatterResponse.from_response(response)


_IGNORED_IN_COMPARISON = ("_rev", "_attachments", "_revisions")


def _comparable(doc: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in _IGNORED_IN_COMPARISON}


def sync_design(db: DbRef, doc: MutableMapping[str, Any]) -> Op[bool]:
    """Write design document ``doc`` unless the server's copy already matches.

    Returns whether it wrote. The stored ``_rev`` is used (``doc``'s own is
    ignored) and set on ``doc``; attachments of the stored copy are kept.
    """
    docid = validate_id(doc.get("_id"), "design document id")
    try:
        response = yield Request("GET", db.doc_path(docid))
        current: dict[str, Any] | None = response.json()
    except NotFound:
        current = None
    if current is not None and _comparable(current) == _comparable(doc):
        doc["_rev"] = current["_rev"]
        return False
    body = {k: v for k, v in doc.items() if k != "_rev"}
    if current is not None:
        body["_rev"] = current["_rev"]
        if "_attachments" in current and "_attachments" not in body:
            body["_attachments"] = current["_attachments"]
    response = yield json_request("PUT", db.doc_path(docid), body)
    doc["_rev"] = response.json()["rev"]
    return True
