"""``RowStream``: the rows of one view answer, handed out as they arrive and not kept
(``db.view(..., stream=True)``)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from typing import Any

from .closing import Closing
from .document import Document
from .drivers import Streamed
from .jsonstream import AsyncArrayReader, SyncArrayReader
from .views import Row, ViewHead, row_class, rows_decoder

__all__ = ["RowStream"]


class RowStream(ViewHead, Streamed, Closing):
    """``db.view(..., stream=True)``: the rows of one response, one at a time, not kept.

    ``for row in stream`` (blocking) or ``async for row in stream`` (awaited)
    reads the rows as they arrive; memory stays at one block of the response
    (~128 KiB) however many rows there are. It can be iterated once.
    ``total_rows`` and ``offset`` are known at once, ``update_seq`` when
    CouchDB sends it before the rows (else after the loop). Leaving the loop
    early, ``close()`` or ``with`` releases the connection.
    """

    def __init__(
        self,
        name: str,
        options: Mapping[str, Any],
        response: Any,
        doc_class: type[Document] = Document,
    ) -> None:
        self.name = name
        self.options = dict(options)
        self._doc_class = doc_class
        self._stream = response.stream
        self._meta: dict[str, Any] = {}
        self._sync: SyncArrayReader | None = None
        self._async: AsyncArrayReader | None = None
        self._used = False

    def _codec(self) -> tuple[Callable[[bytes], list[Row]], Callable[[Any], Row]]:
        return rows_decoder(self._doc_class), row_class(self._doc_class).from_mapping

    def finish_sync(self) -> RowStream:
        reader = self._sync = SyncArrayReader(self._stream, "rows", *self._codec())
        try:
            self._meta.update(reader.read_head())
        except BaseException:
            self.close()
            raise
        return self

    async def finish_async(self) -> RowStream:
        reader = self._async = AsyncArrayReader(self._stream, "rows", *self._codec())
        try:
            self._meta.update(await reader.read_head())
        except BaseException:
            await reader.aclose()
            raise
        return self

    def _take(self) -> None:
        if self._used:
            raise RuntimeError(
                f"the rows of {self.name} (stream=True) were read once and not kept; "
                "query again, or leave out stream=True to get a View that keeps them"
            )
        self._used = True

    def __iter__(self) -> Iterator[Row]:
        if self._sync is None and not self._used:
            raise RuntimeError(f"{self.name} was streamed with await: iterate it with `async for`")
        self._take()
        assert self._sync is not None
        return self._rows_sync(self._sync)

    def _rows_sync(self, reader: SyncArrayReader) -> Iterator[Row]:
        try:
            for block in reader.blocks():
                yield from block
            self._meta.update(reader.tail())
        finally:
            self.close()

    def __aiter__(self) -> AsyncIterator[Row]:
        if self._async is None and not self._used:
            raise RuntimeError(f"{self.name} was streamed blocking: iterate it with `for`")
        self._take()
        assert self._async is not None
        return self._rows_async(self._async)

    async def _rows_async(self, reader: AsyncArrayReader) -> AsyncIterator[Row]:
        try:
            async for block in reader.blocks():
                for row in block:
                    yield row
            self._meta.update(reader.tail())
        finally:
            self._async = None
            await reader.aclose()

    def close(self) -> None:
        """Release the connection (a blocking stream; an async one closes when its loop ends)."""
        reader, self._sync = self._sync, None
        if reader is not None:
            reader.close()

    async def aclose(self) -> None:
        """Release the connection of an async stream not read to the end."""
        reader, self._async = self._async, None
        if reader is not None:
            await reader.aclose()

    def __del__(self) -> None:
        if getattr(self, "_sync", None) is not None:
            self.close()

    def __repr__(self) -> str:
        total = "" if self.total_rows is None else f" of {self.total_rows}"
        return f"<{self.name}: rows streamed{total}>"
