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

from collections.abc import Iterator, Mapping
from typing import Any

from .document import AttrDict, Document
from .drivers import Streamed
from .jsonstream import AsyncArrayReader, SyncArrayReader

__all__ = ["FindResult", "Row", "View"]

_ROW_FIELDS = ("id", "key", "value", "doc", "error")


class Row(Mapping[str, Any]):
    """One row of a view: ``key``, ``id``, ``value``, ``doc``, ``error``.

    Fields read as attributes (``row.key``) and as a mapping (``row["key"]``,
    so ``"%(key)s → %(value)i" % row`` works). ``doc`` is a ``Document`` with
    ``include_docs=True`` (``None`` for a deleted or missing one); ``error`` is
    set (``"not_found"``) for a requested key that matched no document; ``id``
    is ``None`` for the rows of a reduce.
    """

    __slots__ = ("_data", "_doc")

    def __init__(self, data: Mapping[str, Any], doc_class: type[Document] = Document) -> None:
        self._data = data
        self._doc: Any = doc_class

    @property
    def key(self) -> Any:
        return self._data.get("key")

    @property
    def id(self) -> str | None:
        return self._data.get("id")

    @property
    def value(self) -> Any:
        value = self._data.get("value")
        return AttrDict(value) if type(value) is dict else value

    @property
    def doc(self) -> Document | None:
        doc = self._doc
        if isinstance(doc, type):  # not converted yet: the class to convert with
            raw = self._data.get("doc")
            doc = self._doc = doc(raw) if isinstance(raw, dict) else None
        return doc  # type: ignore[no-any-return]

    @property
    def error(self) -> str | None:
        return self._data.get("error")

    def __getitem__(self, name: str) -> Any:
        if name in _ROW_FIELDS and name in self._data:
            return getattr(self, name)
        return self._data[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Row):
            return dict(self._data) == dict(other._data)
        return isinstance(other, Mapping) and dict(self._data) == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={self._data[k]!r}" for k in _ROW_FIELDS[:3] if k in self._data)
        if self.error is not None:
            shown += f", error={self.error!r}"
        return f"<Row {shown}>"


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
        reader = self._reader = SyncArrayReader(self._stream, "rows")
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
        reader = AsyncArrayReader(stream, "rows")
        try:
            self._meta.update(await reader.read_head())
            make = self._doc_class
            rows = [Row(raw, make) async for raw in reader.items()]
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
        make = self._doc_class
        try:
            for raw in reader.items():
                yield Row(raw, make)
            self._meta.update(reader.tail())
            self._state = "streamed"
        finally:
            self.close()

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
