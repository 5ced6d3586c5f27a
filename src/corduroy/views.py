"""View results: ``View`` (the rows of a query) and ``Row`` (one of them);
``corduroy.rowstream`` has ``RowStream`` (rows streamed one at a time).

A ``View`` is an ordinary read-only sequence in every calling convention:
``list(view)``, ``len(view)``, ``view[0]``, ``view[2:5]``, ``row in view``,
``sorted(view, ...)``, and iterating any number of times. An awaited call
(``await``, ``@relax``, ``callback=``) returns it with its rows read (parsed in
blocks as they arrive, never as one big body). A *blocking* call returns it
once the head of the answer is in (``total_rows`` and ``offset`` are known);
the first use that needs the rows reads the rest and keeps them. ``bool()``
reads no further than the first row, the repr at most one block (~128 KiB)
more; no property reads the rows (``rows`` is the rows themselves).

For constant memory, stream explicitly: ``db.view(..., stream=True)`` returns a
``RowStream`` to go through once with ``for`` (blocking) or ``async for``
(awaited), holding one block of the answer at a time; ``db.iterview(...)``
pages through a view ``batch`` rows per request.

A blocking View whose rows were not read holds a connection: ``with
db.view(...) as view:``, ``close()``, or dropping it releases the connection.
"""

from __future__ import annotations

import functools
from collections.abc import (
    Callable,
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    Sequence,
    ValuesView,
)
from typing import Any, ClassVar, overload

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


class Row(msgspec.Struct, forbid_unknown_fields=True, gc=False):
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
    from a dict with :meth:`from_mapping`. They are not tracked by the garbage
    collector (what they hold is decoded JSON, which has no cycles): its passes
    over the kept rows were a tenth of reading 20,000 of them. So a row put
    inside its own ``doc``, ``key`` or ``value`` is never freed.
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
        fields = {attr: data[name] for name, attr in _SLOTS.items() if name in data}
        more = {name: value for name, value in data.items() if name not in _SLOTS}
        if not more:
            return cls(**fields)
        row = _with_more(cls)(**fields)
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
            return doc
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
        # As the original corduroy: <Row "key" id / value>, <Row+ ...> with a doc,
        # <Row "blah" / None «not_found»> for a missing key, <Row / 3> for a reduce.
        parts = ["<Row+" if self.doc is not None else "<Row"]
        key = self.key
        if key is not None:
            parts.append(f'"{key}"')
        if self.id is not None:
            parts.append(str(self.id))
        value = self.value
        if isinstance(value, Mapping):
            parts.append("/ " + ", ".join(f"{k}:{v}" for k, v in value.items()))
        else:
            parts.append(f"/ {value!r}")
        if self.error is not None:
            parts.append(f"\u00ab{self.error}\u00bb")
        return " ".join(parts) + ">"


Mapping.register(Row)


@functools.cache
def _with_more(cls: type[Row]) -> type[Row]:
    """``cls`` with a ``__dict__`` (for the fields beyond the six), tracked by the collector."""
    namespace = {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    made: type[Row] = type(cls.__name__, (cls,), namespace, dict=True, gc=True)
    return made


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
            raise TransportError(f"a view answered {bytes(body[:200])!r}, not an object") from None
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


#: how many more bytes of a blocking View's answer its repr may read to count the rows
_REPR_READ = 131072


class ViewHead:
    """``total_rows``, ``offset`` and ``update_seq``: what a view answer says besides its rows
    (shared by :class:`View` and ``RowStream``, which keep it in ``_meta``)."""

    _meta: dict[str, Any]

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

        CouchDB sends it before the rows. pouchdb-server sends it after them:
        there it is ``None`` until the rows are read.
        """
        return self._meta.get("update_seq")


class View(ViewHead, Streamed, Sequence[Row]):
    """The result of a view, ``_all_docs``, or temporary view query.

    An ordinary read-only sequence of :class:`Row`: ``len()``, ``view[i]``,
    slices, ``in``, ``list()``, ``sorted()``, iterating any number of times.
    Also ``rows`` (the list), ``total_rows``, ``offset``, ``update_seq`` (with
    ``update_seq=True``; a seq is opaque), ``options`` (the query's options)
    and ``name``. See the module docstring for when the rows are read.
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
        #: blocks of rows still on the wire (``None`` once every row is read)
        self._blocks: Iterator[list[Row]] | None = None
        self._meta: dict[str, Any] = dict(meta or {})
        self._rows: list[Row] = rows if rows is not None else []
        self._complete = rows is not None or self._stream is None
        self._closed_early = False

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
        self._blocks = reader.blocks()
        return self

    async def finish_async(self) -> View:
        stream, self._stream = self._stream, None
        if stream is None:
            return self
        reader = AsyncArrayReader(stream, "rows", *self._row_codec())
        try:
            self._meta.update(await reader.read_head())
            rows = self._rows
            async for block in reader.blocks():
                rows.extend(block)
            self._meta.update(reader.tail())
        finally:
            await reader.aclose()
        self._complete = True
        return self

    def _row_codec(self) -> tuple[Callable[[bytes], list[Row]], Callable[[Any], Row]]:
        """How the reader decodes blocks of rows, and rows another parser read."""
        return rows_decoder(self._doc_class), row_class(self._doc_class).from_mapping

    # -- reading the rows (blocking Views read them on first use) ---------------

    def _read_block(self) -> bool:
        """Read the next block of rows (at most ~128 KiB); False once every row is in."""
        blocks = self._blocks
        if blocks is None:
            if not self._complete:
                raise RuntimeError(
                    f"the View of {self.name} was closed before its rows were read; query it again"
                )
            return False
        try:
            self._rows.extend(next(blocks))
        except StopIteration:
            assert self._reader is not None
            self._meta.update(self._reader.tail())
            self._complete = True
            self.close()
            return False
        except BaseException:
            self.close()
            raise
        return True

    def _all(self) -> list[Row]:
        """Every row: reads the rest of the response the first time, then keeps them."""
        if not self._complete:
            while self._read_block():
                pass
        return self._rows

    def close(self) -> None:
        """Release the connection of a View whose rows were not read (rows read stay)."""
        self._blocks = None
        reader, self._reader = self._reader, None
        stream, self._stream = self._stream, None
        if reader is not None:
            reader.close()
        elif stream is not None and hasattr(stream, "close"):
            stream.close()

    def __enter__(self) -> View:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        if getattr(self, "_reader", None) is not None:
            self.close()

    # -- the sequence -------------------------------------------------------------

    @property
    def rows(self) -> list[Row]:
        """Every row, as a list (reads them on a blocking View's first use)."""
        return self._all()

    def __len__(self) -> int:
        return len(self._all())

    @overload
    def __getitem__(self, index: int) -> Row: ...

    @overload
    def __getitem__(self, index: slice) -> list[Row]: ...

    def __getitem__(self, index: int | slice) -> Row | list[Row]:
        return self._all()[index]

    def __iter__(self) -> Iterator[Row]:
        return iter(self._all())

    def __reversed__(self) -> Iterator[Row]:
        return reversed(self._all())

    def __contains__(self, row: object) -> bool:
        return row in self._all()

    def __bool__(self) -> bool:
        """Whether the query matched a row (reads no more than the first row)."""
        while not self._rows and self._read_block():
            pass
        return bool(self._rows)

    def __repr__(self) -> str:
        # A bounded read (~128 KiB more): enough to count a small View whole.
        reader = self._reader
        if not self._complete and reader is not None:
            stop = reader.bytes_read + _REPR_READ
            while reader.bytes_read < stop and self._read_block():
                pass
        count = f"{len(self._rows)}" if self._complete else f"{len(self._rows)}+"
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
