"""The block row splitter: the same items as a full parse, however the body is laid out
and chunked, and ijson takes over (without losing or repeating a row) where orjson can't."""

from __future__ import annotations

import asyncio
import gc
import json
from typing import Any

import ijson
import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from corduroy.jsonstream import AsyncArrayReader, SyncArrayReader
from corduroy.rowsplit import RowSplitter
from corduroy.views import Row, rows_decoder
from unit.test_views_support import FakeAsyncStream, FakeStream

# strings made to look like row boundaries, escapes, non-ASCII and line separators
tricky = st.sampled_from(
    ['},{"', '},{\\"', "},\r\n{", '\\"', "\\", '"', "é", "€", "\U0001f600", "\u2028", "]", "[{"]
)
text = st.lists(st.one_of(tricky, st.text(max_size=4)), max_size=4).map("".join)
big = st.integers(min_value=2**64, max_value=2**80) | st.integers(-(2**80), -(2**63) - 1)
small = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63) + 1, 2**63 - 1),
    text,
    st.floats(allow_nan=False, allow_infinity=False),
)
scalars = small | big


def nest(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # nested lists of objects with "id" keys put false candidate boundaries inside rows
    objects = st.lists(st.fixed_dictionaries({"id": text}, optional={"v": leaves}), max_size=3)
    return st.recursive(
        leaves | objects,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)
        ),
        max_leaves=8,
    )


values = nest(scalars)
doc_rows = st.fixed_dictionaries(
    {"id": text, "key": values, "value": values}, optional={"doc": values}
)
reduce_rows = st.fixed_dictionaries({"key": values, "value": values})
error_rows = st.fixed_dictionaries({"key": values, "error": st.just("not_found")})
rows_lists = st.lists(st.one_of(doc_rows, reduce_rows, error_rows), max_size=8) | st.lists(
    values, max_size=5
)


def encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def layout(rows: list[Any], style: str) -> bytes:
    """The array's content as servers write it (plus indented), after the ``[``."""
    if style == "couchdb":  # one row per line, "\r\n" around and between rows
        inner = ",\r\n".join(encode(row).decode() for row in rows)
        return (("\r\n" + inner + "\r\n") if rows else "\r\n").encode() + b"]"
    if style == "indented":
        return json.dumps(rows, indent=2, ensure_ascii=False).encode()[1:]
    return encode(rows)[1:]  # pouchdb-server: one line


def split_all(data: bytes, chunk: int) -> tuple[list[Any], RowSplitter]:
    splitter = RowSplitter()
    got: list[Any] = []
    for at in range(0, len(data), chunk):
        got.extend(splitter.feed(data[at : at + chunk]))
    got.extend(splitter.end())
    return got, splitter


styles = st.sampled_from(["couchdb", "pouchdb", "indented"])


@settings(max_examples=200, deadline=None)
@given(rows=rows_lists, style=styles, chunk=st.integers(1, 300), after=st.sampled_from(["", "}"]))
def test_items_in_any_layout_and_chunks(
    rows: list[Any], style: str, chunk: int, after: str
) -> None:
    data = layout(rows, style) + after.encode()
    got, splitter = split_all(data, chunk)
    assert splitter.done and not splitter.failed
    assert got == rows
    assert splitter.pending == after.encode()


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(doc_rows, min_size=1, max_size=6), style=styles)
def test_big_integers_stay_exact(rows: list[Any], style: str) -> None:
    rows[-1]["value"] = 2**70 + 1
    got, _ = split_all(layout(rows, style), 4096)
    assert got == rows
    assert got[-1]["value"] == 2**70 + 1 and type(got[-1]["value"]) is int


@pytest.mark.parametrize("style", ["couchdb", "pouchdb"])
def test_rows_longer_than_the_first_look_back(style: str) -> None:
    # the last boundary of a block is looked for in its last 4 KiB first, then further back
    rows = [{"id": str(n), "value": "x" * size} for n, size in enumerate([9000, 20, 30000, 5])]
    for chunk in (4096, 50000, 65536):
        got, splitter = split_all(layout(rows, style), chunk)
        assert got == rows and splitter.done and not splitter.failed


def test_empty_rows() -> None:
    for data in (b"]}", b"\r\n]\r\n}", b" ] }"):
        got, splitter = split_all(data, 1)
        assert got == [] and splitter.done


def test_truncated_array_fails_at_the_unfinished_row() -> None:
    got, splitter = split_all(b'{"id":"a"},{"id":"b"},{"id":"c', 5)
    assert got == [{"id": "a"}, {"id": "b"}]
    assert splitter.failed and splitter.pending == b'{"id":"c'


def test_refused_bytes_leave_the_rest_to_another_parser() -> None:
    data = b'{"id":"a"},{"id":"\\ud800"},{"id":"c"}]}'  # a lone surrogate: orjson refuses it
    got, splitter = split_all(data, 1000)
    assert got == [{"id": "a"}]
    assert splitter.failed and splitter.pending.startswith(b'{"id":"\\ud800"}')


# -- through the readers, as views.py uses them -------------------------------------

members = st.dictionaries(text.filter(lambda k: k != "rows"), nest(small), max_size=3)


def _replace_last(data: bytes, placeholder: bytes, by: bytes) -> bytes:
    """``placeholder`` is the last member or row: generated text may hold it too, earlier."""
    before, found, after = data.rpartition(placeholder)
    assert found
    return before + by + after


@settings(max_examples=150, deadline=None)
@example(  # the placeholders' own text in the head and in a row
    head={"x": {"y": "@"}}, rows=[{"id": "@@"}, {"id": "b"}], tail={}, chunk=7,
    style="couchdb", surrogate=True,
)  # fmt: skip
@given(
    head=members,
    rows=rows_lists,
    tail=members,
    chunk=st.integers(1, 200),
    style=styles,
    surrogate=st.booleans(),
)
def test_readers_give_head_rows_and_tail(
    head: dict[str, Any],
    rows: list[Any],
    tail: dict[str, Any],
    chunk: int,
    style: str,
    surrogate: bool,
) -> None:
    tail = {k: v for k, v in tail.items() if k not in head}
    body = orjson.dumps({**head, "rows": "@"})
    array = layout(rows, style)
    if surrogate and rows:  # a row orjson cannot read: ijson must go on from it
        array = _replace_last(layout([*rows[:-1], "@@"], style), b'"@@"', b'{"id":"\\ud800"}')
    tail_bytes = orjson.dumps(tail)[1:] if tail else b"}"
    data = _replace_last(body, b'"@"}', b"[" + array + (b"," if tail else b"") + tail_bytes)
    expected = rows
    if surrogate and rows:  # as ijson reads it
        expected = [*rows[:-1], next(ijson.items(b'{"id":"\\ud800"}', ""))]
    reader = SyncArrayReader(FakeStream(data, chunk), "rows")
    assert reader.read_head() == head
    got = list(reader.items())
    assert got == expected
    assert reader.tail() == tail

    async def read_async() -> tuple[Any, Any, Any]:
        areader = AsyncArrayReader(FakeAsyncStream(data, chunk), "rows")
        got_head = await areader.read_head()
        got = [item async for item in areader.items()]
        return got_head, got, areader.tail()

    assert asyncio.run(read_async()) == (head, expected, tail)


def test_another_layout_is_handed_over_to_ijson_without_losing_a_row() -> None:
    rows = [{"id": f"d{i}", "key": i, "value": {"rev": "1-a"}} for i in range(30_000)]
    data = json.dumps({"total_rows": 30_000, "rows": rows, "update_seq": "9-x"}, indent=2).encode()
    splitter, got, at = RowSplitter(), [], data.index(b"[") + 1
    while not splitter.failed and at < len(data):
        got += splitter.feed(data[at : at + 65536])
        at += 65536
    assert splitter.failed and 0 < len(got) < len(rows)  # a megabyte without a block cut
    assert splitter.pending.lstrip().startswith(b'{\n      "id": "d%d"' % len(got))
    reader = SyncArrayReader(FakeStream(data, 65536), "rows")
    assert reader.read_head() == {"total_rows": 30_000}
    assert list(reader.items()) == rows
    assert reader.tail() == {"update_seq": "9-x"}


# -- typed rows (views.py decodes rows straight into Row) ------------------------------

extra_rows = st.fixed_dictionaries(
    {"key": values, "error": st.just("reduce_overflow_error"), "reason": text},
    optional={"node": text},  # a field Row has no slot for: kept through the mapping
)
view_rows = st.lists(st.one_of(doc_rows, reduce_rows, error_rows, extra_rows), max_size=8)


def test_rows_are_not_tracked_by_the_collector() -> None:
    data = b'[{"id":"a","key":"a","value":{"rev":"1-x"},"doc":{"_id":"a","tags":["t"]}}]'
    (row,) = rows_decoder()(data)
    assert not gc.is_tracked(row)
    assert row.doc is row.doc and row.doc.tags == ["t"] and not gc.is_tracked(row)
    (odd,) = rows_decoder()(b'[{"key":"k","value":1,"node":"n1"}]')  # a field with no slot
    assert isinstance(odd, Row) and odd["node"] == "n1" and dict(odd)["node"] == "n1"


def typed_reader(data: bytes, chunk: int, asynchronous: bool = False) -> Any:
    codec = (rows_decoder(), Row.from_mapping)
    if asynchronous:
        return AsyncArrayReader(FakeAsyncStream(data, chunk), "rows", *codec)
    return SyncArrayReader(FakeStream(data, chunk), "rows", *codec)


@settings(max_examples=150, deadline=None)
@given(rows=view_rows, chunk=st.integers(1, 200), style=styles, surrogate=st.booleans())
def test_typed_rows_are_the_rows_sent(
    rows: list[dict[str, Any]], chunk: int, style: str, surrogate: bool
) -> None:
    if surrogate and rows:  # a row no block decoder reads: ijson goes on from it
        rows[-1] = {"id": "@@", "key": "k", "value": 1}  # (ijson's C backend: 64-bit ints)
    array = layout(rows, style).replace(b'"@@"', b'"\\ud800"')
    data = b'{"total_rows":9,"rows":[' + array + b',"offset":0}'
    reader = typed_reader(data, chunk)
    assert reader.read_head() == {"total_rows": 9}
    got = list(reader.items())
    if surrogate and rows:
        rows[-1]["id"] = next(ijson.items(b'"\\ud800"', ""))
    assert all(isinstance(row, Row) for row in got)  # (a subclass for rows with other fields)
    assert [dict(row.items()) for row in got] == [
        {k: Row.from_mapping(raw)[k] for k in raw} for raw in rows
    ]
    assert got == rows  # a Row equals the object it was sent as
    assert reader.tail() == {"offset": 0}

    async def read_async() -> list[Any]:
        areader = typed_reader(data, chunk, asynchronous=True)
        await areader.read_head()
        return [row async for row in areader.items()]

    assert asyncio.run(read_async()) == got


def test_typed_rows_keep_big_integers_and_fields_beyond_the_six() -> None:
    data = (
        b'{"rows":[{"id":"a","key":123456789012345678901234567890,"value":1},\r\n'
        b'{"key":null,"error":"reduce_overflow_error","reason":"shrink it","node":"n1"}\r\n]}'
    )
    first, second = _read_all(data)
    assert first.key == 123456789012345678901234567890 and type(first.key) is int
    assert (second.error, second.reason, second["node"]) == (
        "reduce_overflow_error", "shrink it", "n1",
    )  # fmt: skip
    assert "node" in second and "id" not in second and second.id is None
    assert list(second) == ["key", "error", "reason", "node"] and len(second) == 4


def _read_all(data: bytes) -> list[Row]:
    reader = typed_reader(data, 1000)
    reader.read_head()
    return list(reader.items())
