"""Splitting the items of a streamed JSON array out of its bytes, many per C call.

:class:`RowSplitter` is fed the bytes that follow the ``[`` of a result's
``rows`` (or ``docs``) array, in blocks as they arrive, and hands back the
items completed so far. It does no I/O.

CouchDB writes one row per line (``},\\r\\n{``); pouchdb-server writes the body
on one line (``},{"``). Such a separator is a *candidate* boundary: it can also
occur inside a row (a list of objects), but not inside a string, where every
``"`` is escaped and no raw line break may appear. For a block, the splitter
cuts at the last candidate and decodes everything before it in one
``orjson.loads("[" + rows + "]")``. That succeeds only when the cut is a real
boundary: the bytes start at an item, and a proper prefix of an item never
reads as a complete value. Otherwise (a false cut, another layout) it walks the
items one at a time, using where orjson reports content after the first value.

Bytes orjson refuses (e.g. a lone surrogate escape), or a megabyte read
without one block cut (another layout, a huge row: a streaming parser is faster
there), set :attr:`failed`; :attr:`pending` then starts at the item to go on
from with another parser.
Integers beyond 64 bits stay exact as in :mod:`corduroy.http.jsonexact`.

``decode`` (optional) turns ``[item, ...]`` bytes into the items, e.g. typed
rows; it raises ``ValueError`` for bytes that are not such an array.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson

from .http.jsonexact import loads

__all__ = ["RowSplitter"]

_SEPARATORS = (b'},{"', b"},\r\n{")
_WS = b" \t\r\n"
_CLOSE = ord("]")
_COMMA = ord(",")
_FIRST_WINDOW = 4096
#: cuts tried from the end of a block before going item by item
_TRIES = 3
#: bytes in a row read without a block cut (another layout, a huge row) before
#: leaving the rest to a streaming parser, which is faster there
_HAND_OVER = 1 << 20
#: bytes looked back at first for the last candidate boundary (then four times more)
_LOOK_BACK = 4096


def _skip_ws(buf: bytes, pos: int) -> int:
    while pos < len(buf) and buf[pos] in _WS:
        pos += 1
    return pos


def _last_separator(buf: bytes, end: int) -> int:
    """Where the last candidate boundary ending before ``end`` starts (-1: none).

    Looked for in the last few KiB first: rows are small, and ``rfind`` of the
    separator a layout never uses scanned the whole block (5% of a 20k-row read).
    """
    span = _LOOK_BACK
    while True:
        start = max(end - span, 0)
        cut = max(buf.rfind(_SEPARATORS[0], start, end), buf.rfind(_SEPARATORS[1], start, end))
        if cut >= 0 or start == 0:
            return cut
        span *= 4


class RowSplitter:
    """Feed the bytes after the array's ``[``; get its items (no I/O)."""

    __slots__ = ("_buf", "_cut", "_decode", "_uncut", "_wait", "_window", "done", "failed")

    def __init__(self, decode: Callable[[bytes], list[Any]] | None = None) -> None:
        self._decode = decode or loads
        #: bytes not split yet: they start at an item or whitespace before one
        self._buf = b""
        #: don't try again before the buffer holds this many bytes
        self._wait = 0
        self._window = _FIRST_WINDOW
        self._cut = False  # the last split decoded a block at a cut
        self._uncut = 0  # bytes fed since the last such split
        #: the array's ``]`` was seen
        self.done = False
        #: orjson cannot read on from :attr:`pending`
        self.failed = False

    @property
    def pending(self) -> bytes:
        """The bytes not split yet (after :attr:`done`: those after the ``]``)."""
        return self._buf

    def feed(self, data: bytes) -> list[Any]:
        """Add the next bytes of the body; the items they complete."""
        if self.done or self.failed:
            self._buf += data
            return []
        buf = self._buf + data if self._buf else data
        self._buf = buf
        self._uncut += len(data)
        if len(buf) < self._wait:
            rows = []
        else:
            self._cut = False
            rows = self._split(final=False)
            # Nothing complete (a row longer than a block): wait for twice the
            # bytes before looking again, so a huge row costs linear time.
            self._wait = 0 if len(self._buf) < len(buf) else 2 * len(buf)
            if self._cut:
                self._uncut = 0
        if self._uncut >= _HAND_OVER and not self.done:
            self.failed = True
        return rows

    def end(self) -> list[Any]:
        """The body ended: the items left. Sets :attr:`failed` if the array is not closed."""
        if self.done or self.failed:
            return []
        rows = self._split(final=True)
        if not self.done:
            self.failed = True
        return rows

    # -- splitting ------------------------------------------------------------

    def _split(self, final: bool) -> list[Any]:
        buf = self._buf
        end = len(buf)
        for _ in range(_TRIES):
            cut = _last_separator(buf, end)
            if cut <= 0:
                break
            try:  # "[" + the rows before the cut + "]", copied once
                rows: list[Any] = self._decode(b"".join((b"[", memoryview(buf)[: cut + 1], b"]")))
            except ValueError:  # a false cut (or bytes orjson refuses): an earlier one?
                end = cut + 1
                continue
            self._buf = buf[cut + 2 :]
            self._cut = True
            if final or len(self._buf) >= len(buf) // 2:
                rows.extend(self._one_by_one(final))
            return rows
        return self._one_by_one(final)

    def _one_by_one(self, final: bool) -> list[Any]:
        buf = self._buf
        rows: list[Any] = []
        pos = 0
        while True:
            pos = _skip_ws(buf, pos)
            if pos >= len(buf):
                break
            if buf[pos] == _CLOSE:
                self.done = True
                pos += 1
                break
            found = self._item(buf, pos, final)
            if found is None:
                break
            end, value = found
            after = _skip_ws(buf, end)
            if after < len(buf) and buf[after] == _COMMA:
                rows.append(value)
                pos = after + 1
            elif after < len(buf) and buf[after] == _CLOSE:
                rows.append(value)
                pos = after
            elif after >= len(buf) and not final:
                break  # keep the item until its separator shows
            else:
                self.failed = True
                break
        self._buf = buf[pos:]
        return rows

    def _one(self, item: bytes) -> Any:
        return self._decode(b"[" + item + b"]")[0]

    def _item(self, buf: bytes, pos: int, final: bool) -> tuple[int, Any] | None:
        """The item starting at ``pos``: (where it ends, its value), None if incomplete."""
        view = memoryview(buf)
        size = len(buf)
        while True:
            stop = min(size, pos + self._window)
            while stop < size and (buf[stop] & 0xC0) == 0x80:
                stop -= 1  # don't cut a UTF-8 sequence
            piece = view[pos:stop]
            try:
                orjson.loads(piece)
            except orjson.JSONDecodeError as exc:
                doc, at = exc.doc, exc.pos
                if at < len(doc):
                    # where orjson stopped: after the item, or at bytes it refuses
                    length = (
                        at if not isinstance(doc, str) or doc.isascii() else len(doc[:at].encode())
                    )
                    try:
                        return pos + length, self._one(bytes(piece[:length]))
                    except ValueError:
                        self.failed = True
                        return None
            else:
                if stop >= size and final:
                    return size, self._one(bytes(piece))
            # the item (or a number) may go on past the window
            if stop >= size:
                return None
            self._window *= 2
