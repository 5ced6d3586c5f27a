"""View results: ``View`` (the rows of a query) and ``Row`` (one of them).

A ``View`` returned by a *blocking* call is lazy: ``total_rows`` and ``offset``
are read with the first bytes of the response, and iterating streams the rows
from the socket one at a time without keeping them, so a 10-million-row view
needs no more memory than the rows you keep. ``len()``, indexing, ``rows``
and the repr need every row: they read the rest of the response and keep it.
In short, **iterate once to stream, index to keep**. Iterating a second time
works only if the rows were kept; otherwise it raises ``RuntimeError``.

An awaited call (``await db.view(...)``, ``@relax``, ``callback=``) returns the
View with its rows already read (parsed as they arrive, never as one big body);
for constant memory in async code use ``db.iterview`` with ``async for``.

An unconsumed blocking View holds a connection: leave the loop, use ``with
db.view(...) as rows:``, call ``close()``, or drop it, and the connection is
released.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, ClassVar

import msgspec
from msgspec import UNSET

from .document import AttrDict, Document
from .errors import TransportError
from .http.jsonexact import loads
from .jsonstream import AsyncArrayReader, SyncArrayReader
from .ops.base import Streamed

__all__ = ["FindResult", "Row", "View"]

#: the fields of a row: JSON name -> attribute holding what was received
_SLOTS = {
    "id": "_id",
    "key": "_key",
    "value": "_value",
    "doc": "_doc",
    "error": "_error",
    "reason": "_reason",
}


class Row(msgspec.Struct, forbid_unknown_fields=True, dict=True):
    """One row of a view: ``key``, ``id``, ``value``, ``doc``, ``error``, ``reason``.

    Fields read as attributes (``row.key``) and as a mapping (``row["key"]``,
    so ``"%(key)s → %(value)i" % row`` works); the mapping holds the fields the
    row was sent with. ``doc`` is a ``Document`` with ``include_docs=True``
    (``None`` for a deleted or missing one); ``error`` is set (``"not_found"``)
    for a requested key that matched no document (CouchDB 3 also sends reduce
    errors as rows, with a ``reason``); ``id`` is ``None`` for the rows of a
    reduce. Fields beyond these six are kept and read through the mapping.

    Rows are decoded straight from the response bytes into this class (a
    ``msgspec.Struct``: no dict per row, no Python call per row); make one
    from a dict with :meth:`from_mapping`.
    """

    _id: Any = msgspec.field(default=UNSET, name="id")
    _key: Any = msgspec.field(default=UNSET, name="key")
    _value: Any = msgspec.field(default=UNSET, name="value")
    _doc: Any = msgspec.field(default=UNSET, name="doc")
    _error: Any = msgspec.field(default=UNSET, name="error")
    _reason: Any = msgspec.field(default=UNSET, name="reason")
    #: the class ``doc`` is made with (see :func:`row_class`)
    doc_class: ClassVar[type[Document]] = Document

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> Row:
        """A row from a decoded JSON object."""
        row = cls(**{attr: data[name] for name, attr in _SLOTS.items() if name in data})
        more = {name: value for name, value in data.items() if name not in _SLOTS}
        if more:
            row.__dict__["_more"] = more  # only rows with other fields (rare) carry this
        return row

    @property
    def key(self) -> Any:
        key = self._key
        return None if key is UNSET else key

    @property
    def id(self) -> str | None:
        docid = self._id
        return None if docid is UNSET else docid

    @property
    def value(self) -> Any:
        value = self._value
        if type(value) is dict:
            return AttrDict(value)
        return None if value is UNSET else value

    @property
    def doc(self) -> Document | None:
        doc = self._doc
        if type(doc) is dict:  # not converted yet
            doc = self._doc = self.doc_class(doc)
        return doc if isinstance(doc, Document) else None

    @property
    def error(self) -> str | None:
        error = self._error
        return None if error is UNSET else error

    @property
    def reason(self) -> str | None:
        reason = self._reason
        return None if reason is UNSET else reason

    # -- the mapping protocol ---------------------------------------------------

    def _received(self) -> dict[str, Any]:
        """The fields the row was sent with, as received."""
        found = {name: getattr(self, attr) for name, attr in _SLOTS.items()}
        received = {name: value for name, value in found.items() if value is not UNSET}
        received.update(getattr(self, "_more", ()))
        return received

    def __getitem__(self, name: str) -> Any:
        attr = _SLOTS.get(name)
        if attr is None:
            return getattr(self, "_more", {})[name]
        if getattr(self, attr) is UNSET:
            raise KeyError(name)
        return getattr(self, name)

    def get(self, name: str, default: Any = None) -> Any:
        try:
            return self[name]
        except KeyError:
            return default

    def __contains__(self, name: object) -> bool:
        attr = _SLOTS.get(name) if isinstance(name, str) else None
        if attr is None:
            return name in getattr(self, "_more", ())
        return getattr(self, attr) is not UNSET

    def __iter__(self) -> Iterator[str]:
        return iter(self._received())

    def __len__(self) -> int:
        return len(self._received())

    def keys(self) -> KeysView[str]:
        return KeysView(self)

    def items(self) -> ItemsView[str, Any]:
        return ItemsView(self)

    def values(self) -> ValuesView[Any]:
        return ValuesView(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return self._received() == other._received()
        return isinstance(other, Mapping) and self._received() == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        received = self._received()
        shown = ", ".join(f"{k}={received[k]!r}" for k in ("id", "key", "value") if k in received)
        if self.error is not None:
            shown += f", error={self.error!r}"
        return f"<Row {shown}>"


Mapping.register(Row)

@functools.cache
def row_class(doc_class: type[Document] = Document) -> type[Row]:
    """The ``Row`` class whose ``doc`` is a ``doc_class`` (made once per class)."""
    if doc_class is Document:
        return Row
    return type(f"Row[{doc_class.__name__}]", (Row,), {"doc_class": doc_class})


@functools.cache
def _decoders(doc_class: type[Document]) -> tuple[msgspec.json.Decoder[Any], ...]:
    """msgspec decoders for ``[row, ...]`` and for a whole view page, per document class."""
    cls = row_class(doc_class)
    rows = list[cls]  # type: ignore[valid-type]
    page = msgspec.defstruct("Page", [("rows", rows, []), ("update_seq", Any, None)])
    return msgspec.json.Decoder(rows), msgspec.json.Decoder(page)


@functools.cache
def rows_decoder(doc_class: type[Document] = Document) -> Callable[[bytes], list[Row]]:
    """Decode ``[row, ...]`` bytes into rows; raises ``ValueError`` on bad JSON."""
    decode = _decoders(doc_class)[0].decode

    def rows(data: bytes) -> list[Row]:
        try:
            result: list[Row] = decode(data)
        except msgspec.ValidationError:  # JSON, but a row with other fields: keep them
            return rows_from(loads(data), doc_class)
        except msgspec.DecodeError as exc:
            raise ValueError(str(exc)) from None
        return result

    return rows


def page_rows(
    body: bytes | bytearray, doc_class: type[Document] = Document
) -> tuple[list[Row], Any]:
    """The ``rows`` and ``update_seq`` of a whole view response, decoded straight into rows."""
    try:
        decoded = _decoders(doc_class)[1].decode(body)
    except msgspec.ValidationError:  # rows with other fields (or not rows): the general way
        whole = loads(body) if body else {}
        if not isinstance(whole, Mapping):
            raise TransportError(
                f"a view answered {bytes(body[:200])!r}, not an object"
            ) from None
        return rows_from(whole.get("rows", []), doc_class), whole.get("update_seq")
    except msgspec.DecodeError as exc:
        raise TransportError(f"a view answered bytes that are not JSON: {exc}") from None
    return decoded.rows, decoded.update_seq


def rows_from(items: Any, doc_class: type[Document] = Document) -> list[Row]:
    """Rows from decoded JSON (a list of objects); a clear error for anything else."""
    make = row_class(doc_class).from_mapping
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise TransportError(f"the rows of a view must be a list of objects, got {items!r:.200}")
    return [make(item) for item in items]


class View(Streamed):
    """The result of a view, ``_all_docs``, or temporary view query.

    ``rows``, ``total_rows``, ``offset``, ``update_seq`` (with
    ``update_seq=True``; a seq is opaque), ``options`` (the query's options)
    and ``name``. Iterable, indexable, ``len()``; see the module docstring for
    when rows are streamed and when they are kept.
    """

    def __init__(
        self,
        name: str,
        options: Mapping[str, Any],
        response: Any = None,
        doc_class: type[Document] = Document,
        meta: Mapping[str, Any] | None = None,
        rows: list[Row] | None = None,
    ) -> None:
        self.name = name
        self.options = dict(options)
        self._doc_class = doc_class
        self._stream = response.stream if response is not None else None
        self._reader: SyncArrayReader | None = None
        self._meta: dict[str, Any] = dict(meta or {})
        self._rows = rows
        self._state = "kept" if rows is not None else "lazy"

    # -- driver hooks -------------------------------------------------------

    def finish_sync(self) -> View:
        if self._stream is None:
            return self
        reader = self._reader = SyncArrayReader(self._stream, "rows", *self._row_codec())
        try:
            self._meta.update(reader.read_head())
        except BaseException:
            self.close()
            raise
        return self

    async def finish_async(self) -> View:
        stream, self._stream = self._stream, None
        if stream is None:
            return self
        reader = AsyncArrayReader(stream, "rows", *self._row_codec())
        try:
            self._meta.update(await reader.read_head())
            rows: list[Row] = []
            async for block in reader.blocks():
                rows.extend(block)
            self._meta.update(reader.tail())
        finally:
            await reader.aclose()
        self._rows, self._state = rows, "kept"
        return self

    # -- streaming ------------------------------------------------------------

    def __iter__(self) -> Iterator[Row]:
        if self._rows is not None:
            return iter(self._rows)
        if self._state != "lazy" or self._reader is None:
            raise RuntimeError(
                f"the rows of {self.name} were already streamed and not kept: "
                "query again, or keep them (list(view), view.rows) before iterating twice"
            )
        self._state = "streaming"
        return self._stream_rows(self._reader)

    def _stream_rows(self, reader: SyncArrayReader) -> Iterator[Row]:
        try:
            yield from reader.items()
            self._meta.update(reader.tail())
            self._state = "streamed"
        finally:
            self.close()

    def _row_codec(self) -> tuple[Callable[[bytes], list[Row]], Callable[[Any], Row]]:
        """How the reader decodes blocks of rows, and rows another parser read."""
        return rows_decoder(self._doc_class), row_class(self._doc_class).from_mapping

    def _keep(self) -> list[Row]:
        if self._rows is None:
            if self._state == "lazy" and self._reader is not None:
                self._rows = list(self._stream_rows(self._reader))
                self._state = "kept"
            else:
                raise RuntimeError(
                    f"the rows of {self.name} were streamed by iterating and not kept; "
                    "index or call len() before iterating to keep them"
                )
        return self._rows

    def close(self) -> None:
        """Release the connection of a view that was not read to the end."""
        reader, self._reader = self._reader, None
        stream, self._stream = self._stream, None
        if reader is not None:
            reader.close()
        elif stream is not None and hasattr(stream, "close"):
            stream.close()
        if self._state in ("lazy", "streaming"):
            self._state = "closed"

    def __enter__(self) -> View:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_reader", None) is not None:
            self.close()

    # -- kept rows ----------------------------------------------------------------

    @property
    def rows(self) -> list[Row]:
        """Every row (reads and keeps the rest of a streamed response)."""
        return self._keep()

    def __len__(self) -> int:
        return len(self._keep())

    def __getitem__(self, index: int) -> Row:
        return self._keep()[index]

    def __bool__(self) -> bool:
        return True

    @property
    def total_rows(self) -> int | None:
        """Rows in the whole view (``None`` for reduce and ``sorted=false`` results)."""
        value = self._meta.get("total_rows")
        return value if isinstance(value, int) else None

    @property
    def offset(self) -> int | None:
        """Index of the first returned row in the view (``None`` when not given)."""
        value = self._meta.get("offset")
        return value if isinstance(value, int) else None

    @property
    def update_seq(self) -> Any:
        """The database seq the index reflects (``update_seq=True``); opaque.

        pouchdb-server sends it after the rows: on a lazy View this reads and
        keeps them, on one being streamed it is known once the loop ends.
        """
        if "update_seq" not in self._meta and self._state == "lazy" and self._reader:
            self._keep()
        return self._meta.get("update_seq")

    def __repr__(self) -> str:
        if self._rows is None and self._state == "lazy" and self._reader is not None:
            self._keep()
        if self._rows is None:
            count = "streamed"
        else:
            count = str(len(self._rows))
        total = self.total_rows
        if total is not None:
            return f"<{self.name}: {count}/{total} rows>"
        return f"<{self.name}: {count} rows>"


class FindResult(list[Document]):
    """The documents of a Mango query, with ``bookmark`` (for the next page),
    ``warning`` (e.g. no index used) and ``execution_stats`` when asked for."""

    def __init__(self, docs: list[Document], meta: Mapping[str, Any] | None = None) -> None:
        super().__init__(docs)
        meta = meta or {}
        self.bookmark: str | None = meta.get("bookmark")
        self.warning: str | None = meta.get("warning")
        stats = meta.get("execution_stats")
        self.execution_stats: AttrDict | None = AttrDict(stats) if stats else None

    @property
    def docs(self) -> list[Document]:
        return list(self)


class FoundStream(Streamed):
    """A ``_find`` response still on the wire; finished into a ``FindResult``."""

    def __init__(self, response: Any, doc_class: type[Document] = Document) -> None:
        self._stream = response.stream
        self._doc_class = doc_class

    def finish_sync(self) -> FindResult:
        reader = SyncArrayReader(self._stream, "docs")
        try:
            meta = reader.read_head()
            make = self._doc_class
            docs = [make(raw) for raw in reader.items()]
            meta.update(reader.tail())
        finally:
            reader.close()
        return FindResult(docs, meta)

    async def finish_async(self) -> FindResult:
        reader = AsyncArrayReader(self._stream, "docs")
        try:
            meta = await reader.read_head()
            make = self._doc_class
            docs = [make(raw) async for raw in reader.items()]
            meta.update(reader.tail())
        finally:
            await reader.aclose()
        return FindResult(docs, meta)
