"""The row stream parser: head, rows and tail of any body, however it is chunked."""

from __future__ import annotations

import asyncio
from typing import Any

import ijson
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from corduroy.jsonstream import AsyncArrayReader, SyncArrayReader, parse_tail
from unit.test_views_support import FakeAsyncStream, FakeStream

tricky = st.sampled_from(['"rows"', "]", '],"x":1}', '"rows":[', "}", ",", "\\", "é", "\u2028"])
text = st.lists(st.one_of(tricky, st.text(max_size=5)), max_size=4).map("".join)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63) + 1, 2**63 - 1), text)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=8,
)
members = st.dictionaries(text.filter(lambda k: k != "rows"), values, max_size=3)


def build(head: dict[str, Any], rows: list[Any], tail: dict[str, Any], pretty: bool) -> bytes:
    body = orjson.dumps({**head, "rows": rows, **tail}, option=orjson.OPT_INDENT_2 if pretty else 0)
    return body


@settings(max_examples=150, deadline=None)
@given(
    head=members,
    rows=st.lists(values, max_size=6),
    tail=members,
    chunk=st.integers(1, 40),
    pretty=st.booleans(),
)
def test_any_body_in_any_chunks(
    head: dict[str, Any], rows: list[Any], tail: dict[str, Any], chunk: int, pretty: bool
) -> None:
    tail = {k: v for k, v in tail.items() if k not in head}
    data = build(head, rows, tail, pretty)
    reader = SyncArrayReader(FakeStream(data, chunk), "rows")
    assert reader.read_head() == head
    assert list(ijson.items(reader, "rows.item", use_float=True)) == rows
    assert reader.tail() == tail

    async def read_async() -> tuple[Any, Any, Any]:
        areader = AsyncArrayReader(FakeAsyncStream(data, chunk), "rows")
        got_head = await areader.read_head()
        got = [item async for item in ijson.items_async(areader, "rows.item", use_float=True)]
        return got_head, got, areader.tail()

    assert asyncio.run(read_async()) == (head, rows, tail)


def test_tail_with_arrays_and_brackets_in_strings() -> None:
    assert parse_tail(b'{"k":["a]"]}],"bookmark":"g]1","stats":{"a":[1,[2]]}}') == {
        "bookmark": "g]1",
        "stats": {"a": [1, [2]]},
    }
    assert parse_tail(b'"id":"x"}]}') == {}


def test_body_without_the_array() -> None:
    reader = SyncArrayReader(FakeStream(b'{"error":"x","n":1}', 3), "rows")
    assert reader.read_head() == {"error": "x", "n": 1}
    assert list(ijson.items(reader, "rows.item")) == []
