"""Reading a CouchDB result body (``{..., "rows": [...], ...}``) one row at a time.

View, ``_all_docs`` and ``_find`` bodies are one object holding a long array
(``rows`` or ``docs``) among a few small members: ``total_rows`` and ``offset``
come before the array, ``update_seq`` before it on CouchDB and after it on
pouchdb-server, Mango's ``bookmark`` and ``warning`` after it. The array goes
through ``ijson.items`` (yajl2_c backend: C all the way, no Python per event);
the small members are taken from the bytes around it:

* the *head*: the bytes before ``"rows": [`` plus ``}`` are a JSON object;
* the *tail*: the reader keeps the last ~64 KiB it handed to ijson; after the
  array is done, the leftmost ``]`` in that window whose remainder reads as the
  end of an object (``,"bookmark":"..."}``) closes the array.

Nothing else of the body is kept, so memory stays flat however long the array.
"""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import ijson

from .http.jsonexact import loads
from .rowsplit import RowSplitter

__all__ = ["AsyncArrayReader", "HeadSplitter", "SyncArrayReader", "parse_tail"]

CHUNK = 65536
#: bytes read at a time once the head is known (rows are split per block)
BLOCK = 131072
_WINDOW = 65536
_WS = b" \t\r\n"


def _skip_ws(buf: bytes, pos: int) -> int:
    while pos < len(buf) and buf[pos] in _WS:
        pos += 1
    return pos


class HeadSplitter:
    """Finds where the array starts in the first bytes of a body (no I/O)."""

    def __init__(self, key: str) -> None:
        self._needle = b'"' + key.encode() + b'"'
        self._from = 0
        self.head: dict[str, Any] | None = None
        #: offset of the ``[`` that opens the array (-1: not found)
        self.array_at = -1

    def feed(self, buf: bytes, final: bool) -> bool:
        """Look at the bytes so far; True once the head is known (or never will be)."""
        while True:
            idx = buf.find(self._needle, self._from)
            if idx < 0:
                self._from = max(0, len(buf) - len(self._needle))
                if final:
                    self._whole(buf)
                return final
            pos = _skip_ws(buf, idx + len(self._needle))
            if pos < len(buf) and buf[pos] == ord(":"):
                pos = _skip_ws(buf, pos + 1)
            if pos >= len(buf) and not final:
                self._from = idx
                return False  # need more bytes to tell
            prefix = buf[:idx].rstrip(_WS).rstrip(b",")
            if pos < len(buf) and buf[pos] == ord("[") and prefix.lstrip(_WS)[:1] == b"{":
                try:
                    head = loads(prefix + b"}")
                except ValueError:
                    head = None
                if isinstance(head, dict):
                    self.head = head
                    self.array_at = pos
                    return True
            self._from = idx + 1

    def _whole(self, buf: bytes) -> None:
        try:
            whole = loads(buf)
        except ValueError:
            whole = None
        self.head = whole if isinstance(whole, dict) else {}


def parse_tail(window: bytes, start: int = 0) -> dict[str, Any]:
    """The members after the array, from the last bytes of the body.

    ``start``: where the array's content begins, when the window reaches back
    that far (a ``]`` before it belongs to the head).
    """
    pos = window.find(b"]", start)
    while pos >= 0:
        rest = window[pos + 1 :].strip(_WS)
        if rest.startswith(b","):
            rest = rest[1:]
        if rest.endswith(b"}"):
            try:
                tail = loads(b"{" + rest)
            except ValueError:
                tail = None
            if isinstance(tail, dict):
                return tail
        pos = window.find(b"]", pos + 1)
    return {}


def _resume(split: RowSplitter) -> bytes:
    """A document for ijson going on from the item where ``split`` stopped."""
    return b'{"k":[' + split.pending


class _Window:
    """The last bytes handed out, at least ``_WINDOW`` of them when there are."""

    __slots__ = ("_chunks", "_size", "total")

    def __init__(self) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self.total = 0  # bytes added in all

    def add(self, data: bytes) -> None:
        if not data:
            return
        self._chunks.append(data)
        self._size += len(data)
        self.total += len(data)
        while len(self._chunks) > 1 and self._size - len(self._chunks[0]) >= _WINDOW:
            self._size -= len(self._chunks.popleft())

    def tail(self, array_at: int) -> dict[str, Any]:
        window = b"".join(self._chunks)
        start = array_at + 1 - (self.total - len(window)) if array_at >= 0 else 0
        return parse_tail(window, max(start, 0))


class _ArrayReader:
    """What both readers share: the head splitter, the window kept for the tail, and how
    items are decoded (``decode``: a block of ``[item, ...]`` bytes; ``convert``: an item
    ijson read, made what ``decode`` makes)."""

    def __init__(
        self,
        stream: Any,
        key: str,
        decode: Callable[[bytes], list[Any]] | None = None,
        convert: Callable[[Any], Any] | None = None,
    ) -> None:
        self._stream = stream
        self._decode = decode
        self._convert = convert
        self._pending = b""
        self._window = _Window()
        self.splitter = HeadSplitter(key)
        self._key = key
        self._synthetic = False  # _pending is not body bytes (don't count it in the window)

    def tail(self) -> dict[str, Any]:
        return self._window.tail(self.splitter.array_at)

    @property
    def bytes_read(self) -> int:
        """How many bytes of the body were handed on so far."""
        return self._window.total


class SyncArrayReader(_ArrayReader):
    """Wraps a blocking body (``read(n)``/``close()``) for ``ijson.items``."""

    def items(self) -> Iterator[Any]:
        """The items of the array, split many at a time; ijson takes over for any
        bytes the splitter cannot read."""
        for block in self.blocks():
            yield from block

    def blocks(self) -> Iterator[list[Any]]:
        """The items of the array, a list at a time (as they were split; a block is
        at most ``BLOCK`` bytes of items, or one item when ijson reads them)."""
        start = self.splitter.array_at
        if start < 0 or not self._pending:
            for item in self._converted(ijson.items(self, self._key + ".item", use_float=True)):
                yield [item]
            return
        split = RowSplitter(self._decode)
        self._window.add(self._pending)
        data, self._pending = self._pending[start + 1 :], b""
        while True:
            block = split.feed(data)
            if block:
                yield block
            if split.done or split.failed:
                break
            data = self._stream.read(BLOCK)
            if not data:
                yield split.end()
                break
            self._window.add(data)
        if split.failed:
            self._pending, self._synthetic = _resume(split), True
            for item in self._converted(ijson.items(self, "k.item", use_float=True)):
                yield [item]
        while data:  # the rest of the body, for the tail
            data = self._stream.read(BLOCK)
            self._window.add(data)

    def _converted(self, items: Iterator[Any]) -> Iterator[Any]:
        """Items another parser read, made what the block decoder makes."""
        convert = self._convert
        return items if convert is None else map(convert, items)

    def read_head(self) -> dict[str, Any]:
        buf = b""
        while True:
            chunk = self._stream.read(CHUNK)
            buf += chunk
            if self.splitter.feed(buf, not chunk):
                break
        self._pending = buf
        return self.splitter.head or {}

    def read(self, n: int = -1) -> bytes:
        if n == 0:  # ijson asks for 0 bytes to learn whether the reader gives bytes
            return b""
        if self._pending:
            data, self._pending = self._pending, b""
            if self._synthetic:
                self._synthetic = False
                return data
        else:
            data = self._stream.read(n if n > 0 else CHUNK)
        self._window.add(data)
        return data

    def close(self) -> None:
        self._stream.close()


class AsyncArrayReader(_ArrayReader):
    """Wraps an asyncio body (``await read(n)``/``aclose()``) for ``ijson.items_async``."""

    async def items(self) -> AsyncIterator[Any]:
        """The items of the array, as :meth:`SyncArrayReader.items`."""
        async for block in self.blocks():
            for item in block:
                yield item

    async def blocks(self) -> AsyncIterator[list[Any]]:
        """The items of the array, a list at a time (as they were split: no step of
        an async generator per item, for a caller that keeps them all)."""
        convert = self._convert
        start = self.splitter.array_at
        if start < 0 or not self._pending:
            async for item in ijson.items_async(self, self._key + ".item", use_float=True):
                yield [item if convert is None else convert(item)]
            return
        split = RowSplitter(self._decode)
        self._window.add(self._pending)
        data, self._pending = self._pending[start + 1 :], b""
        while True:
            block = split.feed(data)
            if block:
                yield block
            if split.done or split.failed:
                break
            data = await self._stream.read(BLOCK)
            if not data:
                yield split.end()
                break
            self._window.add(data)
        if split.failed:
            self._pending, self._synthetic = _resume(split), True
            async for item in ijson.items_async(self, "k.item", use_float=True):
                yield [item if convert is None else convert(item)]
        while data:
            data = await self._stream.read(BLOCK)
            self._window.add(data)

    async def read_head(self) -> dict[str, Any]:
        buf = b""
        while True:
            chunk: bytes = await self._stream.read(CHUNK)
            buf += chunk
            if self.splitter.feed(buf, not chunk):
                break
        self._pending = buf
        return self.splitter.head or {}

    async def read(self, n: int = -1) -> bytes:
        if n == 0:
            return b""
        if self._pending:
            data, self._pending = self._pending, b""
            if self._synthetic:
                self._synthetic = False
                return data
        else:
            data = await self._stream.read(n if n > 0 else CHUNK)
        self._window.add(data)
        return data

    async def aclose(self) -> None:
        await self._stream.aclose()
