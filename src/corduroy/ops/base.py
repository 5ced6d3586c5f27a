"""What every operation shares: the ``Op`` type, paths, JSON bodies and input checks.

An operation is a generator that yields :class:`~corduroy.http.messages.Request`
values and is sent back :class:`~corduroy.http.messages.Response` values. A
response with an error status is not sent back: the driver throws the matching
:class:`~corduroy.errors.HTTPError` in at the ``yield``, so an operation handles
an expected error with ``try``/``except`` around its ``yield``.
"""

from __future__ import annotations

import base64
import gc
import math
import operator
import re
from collections.abc import Callable, Generator, Mapping
from functools import partial
from itertools import compress, repeat
from typing import Any, TypeVar
from urllib.parse import quote
from uuid import UUID

import orjson

from ..document import InlineData
from ..errors import InvalidInput, NotJSON
from ..http.jsonexact import exact_ints
from ..http.messages import Request, Response, encode_query

__all__ = [
    "JSON_HEADERS",
    "Op",
    "Streamed",
    "db_path",
    "doc_path",
    "dumps",
    "json_request",
    "query_string",
    "validate_db_name",
    "validate_id",
]

T = TypeVar("T")

#: An operation that returns ``T``.
Op = Generator[Request, Response, T]

JSON_HEADERS = (("Content-Type", "application/json"),)


class Streamed:
    """Base of operation results that still hold a response body on the wire.

    An operation may return one (views, changes, attachment downloads). After
    the operation ends, the blocking driver calls ``finish_sync()`` and the
    asyncio driver awaits ``finish_async()``; what they return is the call's
    result. A blocking result may stay lazy (stream rows as they are iterated);
    an asyncio result is typically read in full here, since plain ``for`` over
    it could not await.
    """

    def finish_sync(self) -> Any:
        return self

    async def finish_async(self) -> Any:
        return self


_DUMP_OPTS = orjson.OPT_SERIALIZE_NUMPY if hasattr(orjson, "OPT_SERIALIZE_NUMPY") else 0
_RESERVED_PREFIXES = ("_design/", "_local/")


def _bad_char(text: str) -> str | None:
    for ch in ("\r", "\n", "\x00"):
        if ch in text:
            return {"\r": "CR", "\n": "LF", "\x00": "NUL"}[ch]
    return None


def validate_id(docid: Any, what: str = "document id") -> str:
    """Return ``docid`` if it can be sent, else raise :class:`InvalidInput` naming it."""
    if type(docid) is str and docid and "\n" not in docid and "\r" not in docid:
        if "\x00" not in docid:
            return docid
    if not isinstance(docid, str):
        raise InvalidInput(f"{what} must be a str, not {type(docid).__name__}: {docid!r}")
    if not docid:
        raise InvalidInput(f"{what} must not be empty")
    bad = _bad_char(docid)
    if bad:
        raise InvalidInput(f"{what} {docid!r} contains a {bad} character")
    return docid


#: CouchDB's rule for database names, and the system databases outside it
_DB_NAME = re.compile(r"[a-z][a-z0-9_$()+/-]*\Z")
_DB_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_$()+/-")
SYSTEM_DATABASES = frozenset({"_users", "_replicator", "_global_changes"})
_DB_NAME_MAX = 238


def validate_db_name(name: Any) -> str:
    """Return ``name`` if CouchDB accepts it as a database name, else raise naming the problem.

    A name starts with a lowercase letter and holds only ``a-z``, ``0-9`` and
    ``_$()+-/`` (at most 238 characters); ``_users``, ``_replicator`` and
    ``_global_changes`` are allowed too.
    """
    if type(name) is str and _DB_NAME.match(name) and len(name) <= _DB_NAME_MAX:
        return name
    if isinstance(name, str) and name in SYSTEM_DATABASES:
        return name
    validate_id(name, "database name")  # type, emptiness, CR/LF/NUL
    rule = "names start with a lowercase letter and hold only a-z, 0-9 and _$()+-/"
    if len(name) > _DB_NAME_MAX:
        raise InvalidInput(f"database name {name[:20]!r}... is longer than {_DB_NAME_MAX}")
    if not ("a" <= name[0] <= "z"):
        raise InvalidInput(f"database name {name!r} starts with {name[0]!r}: {rule}")
    position, bad = next((i, ch) for i, ch in enumerate(name) if ch not in _DB_NAME_CHARS)
    raise InvalidInput(f"database name {name!r} has {bad!r} at position {position}: {rule}")


def db_path(name: str) -> str:
    """The percent-encoded path of database ``name`` (``/`` in a name is ``%2F``)."""
    return "/" + quote(validate_db_name(name), safe="")


#: ids made only of these characters need no percent-encoding (the common case)
_PLAIN_ID = re.compile(r"[A-Za-z0-9_.~-]+")


def encode_id(docid: str) -> str:
    """The percent-encoded path segment(s) of a document id.

    ``/`` in an id is encoded, except after ``_design/`` and ``_local/``; every
    other character that is not unreserved is percent-encoded, ``+`` included.
    """
    validate_id(docid)
    if _PLAIN_ID.fullmatch(docid):
        return docid
    for prefix in _RESERVED_PREFIXES:
        if docid.startswith(prefix) and len(docid) > len(prefix):
            return prefix + quote(docid[len(prefix) :], safe="")
    return quote(docid, safe="")


def doc_path(db: str, docid: str, *rest: str, db_prefix: str | None = None) -> str:
    """The path of a document (and of an attachment or design function under it).

    ``db_prefix`` is ``db_path(db)`` when the caller already has it.
    """
    path = (db_prefix or db_path(db)) + "/" + encode_id(docid)
    for part in rest:
        path += "/" + quote(part, safe="/")
    return path


def _find_unrepresentable(value: Any, where: str) -> str | None:
    """The field path of the first NaN or infinity in ``value``, if any."""
    if isinstance(value, float):
        return where if not math.isfinite(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            found = _find_unrepresentable(item, f"{where}.{key}" if where else str(key))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _find_unrepresentable(item, f"{where}[{index}]")
            if found is not None:
                return found
    return None


def _describe(value: Any) -> str:
    if isinstance(value, Mapping) and isinstance(value.get("_id"), str):
        return f"document {value['_id']!r}"
    return "the request body"


#: orjson would write these as strings (or objects) that read back as something else:
#: with the passthrough options they reach ``default``, which refuses them
_FAITHFUL_OPTS = _DUMP_OPTS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

#: UUID-shaped JSON strings, once every hex digit is ``h`` (orjson writes ``uuid.UUID``
#: values itself, in this shape, without asking ``default``)
_HEX_TO_H = bytes.maketrans(b"0123456789abcdef", b"h" * 16)
_UUID_SHAPE = b'"hhhhhhhh-hhhh-hhhh-hhhh-hhhhhhhhhhhh"'
_is_str = partial(operator.is_, str)


#: translated a slice at a time: a copy of a large body would cost a page fault per 4 KiB
_SCAN_STEP = 1 << 16
_SCAN_OVERLAP = len(_UUID_SHAPE) - 1  # a match starting in a slice ends in it


def _uuid_shapes(data: bytes) -> int:
    """How many UUID-shaped strings ``data`` (JSON) holds."""
    if len(data) <= _SCAN_STEP:
        return data.translate(_HEX_TO_H).count(_UUID_SHAPE)
    return sum(
        data[at : at + _SCAN_STEP + _SCAN_OVERLAP].translate(_HEX_TO_H).count(_UUID_SHAPE)
        for at in range(0, len(data), _SCAN_STEP)
    )


def _holds_uuid(value: Any, data: bytes) -> bool:
    """Whether ``value`` (encoded as ``data``) holds a ``uuid.UUID``.

    Str ids made with ``str(uuid4())`` are common, so the UUID-shaped strings
    of ``data`` are counted and compared with those among the str ``_id`` of
    the documents written (encoded the same way): every ``UUID`` would add one
    more. Only when the counts differ are the values walked.
    """
    shaped = _uuid_shapes(data)
    if not shaped:
        return False
    if type(value) is not dict:
        return _find_uuid(value)
    docs = value.get("docs")
    if type(docs) is not list:  # one document
        docid = value.get("_id")
        ids: list[Any] = [docid] if type(docid) is str else []
    else:
        try:
            ids = list(map(dict.get, docs, repeat("_id")))
        except TypeError:  # not all dicts
            return _find_uuid(value)
        if set(map(type, ids)) != {str}:
            ids = list(compress(ids, map(_is_str, map(type, ids))))
    return _uuid_shapes(orjson.dumps(ids)) != shaped and _find_uuid(value)


def _encode_other(value: Any) -> Any:
    if isinstance(value, InlineData):  # inline attachment data read with attachments=True
        return base64.b64encode(value).decode("ascii")
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _with_hook(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def default(value: Any) -> Any:
        if isinstance(value, InlineData):
            return base64.b64encode(value).decode("ascii")
        return hook(value)

    return default


def _encode(value: Any, default: Callable[[Any], Any] | None = None) -> bytes:
    """orjson, with integers beyond 64 bits written out exactly."""
    hook = _encode_other if default is None else _with_hook(default)
    try:
        return orjson.dumps(value, default=hook, option=_FAITHFUL_OPTS)
    except TypeError:
        exact = exact_ints(value)
        if exact is value:
            raise
        return orjson.dumps(exact, default=hook, option=_FAITHFUL_OPTS)


class _Descend(dict[type, bool]):
    """Whether the values of a type are looked into for a UUID (containers orjson encodes)."""

    def __missing__(self, kind: type) -> bool:
        self[kind] = descend = issubclass(kind, (dict, list, tuple))
        return descend


_DESCEND = _Descend()


def _find_uuid(value: Any) -> bool:
    """Whether ``value`` holds a ``uuid.UUID`` (looked for only when the JSON shows one)."""
    level = [value]
    while level:
        found = gc.get_referents(*level)
        kinds = list(map(type, found))
        if UUID in set(kinds):
            return True
        level = list(compress(found, map(_DESCEND.__getitem__, kinds)))
    return type(value) is UUID


def _locate(value: Any, where: str, default: Callable[[Any], Any] | None = None) -> str:
    """Where in ``value`` (known not to encode) the culprit is, and what it is."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                place = f" in field {where!r}" if where else ""
                return f"key {key!r}{place} is a {type(key).__name__}, not a str"
            if _problem(item, default) is not None:
                return _locate(item, f"{where}.{key}" if where else str(key), default)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if _problem(item, default) is not None:
                return _locate(item, f"{where}[{index}]", default)
    place = f"field {where!r}" if where else "the value"
    return (
        f"{place} is a {type(value).__name__}, which JSON cannot hold faithfully "
        "(convert it, or give Couch(json_default=fn) to convert such values)"
    )


def _problem(value: Any, default: Callable[[Any], Any] | None = None) -> str | None:
    """Why ``value`` cannot be sent as JSON, or ``None`` if it can."""
    try:
        data = _encode(value, default)
    except TypeError:
        return _locate(value, "", default)
    if default is None and _holds_uuid(value, data):
        return _locate_uuid(value, "")
    found = _find_unrepresentable(value, "") if b"null" in data else None
    if found is None:
        return None
    where = f"field {found!r}" if found else "the value"
    return f"{where} is NaN or infinite, which JSON cannot carry"


def _locate_uuid(value: Any, where: str) -> str:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if _find_uuid(item):
                return _locate_uuid(item, f"{where}.{key}" if where else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if _find_uuid(item):
                return _locate_uuid(item, f"{where}[{index}]")
    place = f"field {where!r}" if where else "the value"
    return (
        f"{place} is a UUID, which JSON cannot hold faithfully (it would read back as "
        "a str: send str(value), or give Couch(json_default=fn))"
    )


def _refusal(
    value: Any, what: str | None, default: Callable[[Any], Any] | None = None
) -> InvalidInput:
    """The error for ``value`` that cannot be encoded (only computed on failure)."""
    docs = value.get("docs") if isinstance(value, Mapping) else None
    problem = None
    if what is None and isinstance(docs, list):  # a _bulk_docs body: name the document
        for doc in docs:
            problem = _problem(doc, default)
            if problem is not None:
                value = doc
                break
    if problem is None:
        problem = _problem(value, default)
    message = f"{what or _describe(value)}: {problem}"
    if problem is not None and "NaN" in problem:
        return InvalidInput(message)
    return NotJSON(message)


def dumps(
    value: Any, what: str | None = None, default: Callable[[Any], Any] | None = None
) -> bytes:
    """Encode ``value`` as JSON, refusing what JSON cannot hold faithfully.

    NaN and infinities (which orjson would quietly turn into ``null``) raise
    :class:`InvalidInput`; non-string keys and values JSON has no type for
    (``datetime``, ``date``, ``UUID``, ``Decimal``, ``set``, ``bytes``,
    dataclasses, ...) raise :class:`NotJSON` (an ``InvalidInput`` and a
    ``TypeError``) naming the document (or ``what``) and the field, before
    anything is sent; ``default`` (``Couch(json_default=fn)``) converts them
    instead. Integers of any size are written exactly.
    """
    try:
        data = _encode(value, default)
    except TypeError:
        raise _refusal(value, what, default) from None
    # orjson writes UUIDs itself, and NaN and infinities as null: look closer only then
    if default is None and b"-" in data and _holds_uuid(value, data):
        raise _refusal(value, what)
    if b"null" in data and _find_unrepresentable(value, "") is not None:
        raise _refusal(value, what, default)
    return data


def query_string(
    params: Mapping[str, Any] | None,
    json_keys: tuple[str, ...] = (),
    default: Callable[[Any], Any] | None = None,
) -> str:
    """Encode query options; the names in ``json_keys`` are always sent as JSON."""
    if not params:
        return ""
    items: list[tuple[str, Any]] = []
    for name, value in params.items():
        if value is None:
            continue
        if name in json_keys:
            value = dumps(value, f"option {name}", default).decode()
        items.append((name, value))
    return encode_query(items)


def json_request(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: str = "",
    idempotent: bool | None = None,
    headers: tuple[tuple[str, str], ...] = (),
    default: Callable[[Any], Any] | None = None,
) -> Request:
    """A request whose body (if not ``None``) is ``body`` encoded as JSON
    (``default``: the ``Couch``'s ``json_default``)."""
    if body is None:
        return Request(method, path, query, headers, None, idempotent=idempotent)
    return Request(
        method,
        path,
        query,
        JSON_HEADERS + headers,
        dumps(body, None, default),
        idempotent=idempotent,
    )
