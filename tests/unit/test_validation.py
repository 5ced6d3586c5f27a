"""Input refused before anything is sent; big integers kept exact on our side."""

from __future__ import annotations

import pytest

from corduroy import Couch
from corduroy.errors import InvalidInput
from corduroy.http.jsonexact import exact_ints, loads
from corduroy.http.messages import Headers, Response
from corduroy.ops.base import db_path, dumps, validate_db_name, validate_id
from corduroy.ops.changes import LineSplitter
from corduroy.rowsplit import RowSplitter

#: nothing listens here: a call that got as far as connecting would fail differently
NOWHERE = "http://127.0.0.1:9/"


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "db",
        "abc123",
        "a_b",
        "a$b",
        "a(b)",
        "a+b",
        "a-b",
        "a/b",
        "z" * 238,
        "_users",
        "_replicator",
        "_global_changes",
    ],
)
def test_good_database_names(name: str) -> None:
    assert validate_db_name(name) == name


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Abc", "starts with 'A'"),
        ("1db", "starts with '1'"),
        ("_private", "starts with '_'"),
        ("my db", "has ' ' at position 2"),
        ("my.db", "has '.' at position 2"),
        ("dbÉ", "has 'É' at position 2"),
        ("caps-ARE-bad", "has 'A' at position 5"),
        ("a\nb", "LF"),
        ("a\rb", "CR"),
        ("a\x00b", "NUL"),
        ("", "empty"),
        ("a" * 239, "longer than 238"),
    ],
)
def test_bad_database_names_are_refused_with_the_reason(name: str, says: str) -> None:
    with pytest.raises(InvalidInput, match="database name") as info:
        validate_db_name(name)
    assert says in str(info.value)
    with pytest.raises(InvalidInput):
        db_path(name)


def test_a_bad_database_name_is_refused_before_any_request() -> None:
    couch = Couch(NOWHERE, retry=False)
    for call in (lambda: couch.create("Bad"), lambda: couch["x y"], lambda: couch.delete("A")):
        with pytest.raises(InvalidInput):
            call()
    with pytest.raises(InvalidInput):
        couch.create(42)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["a\nb", "a\r\nb", "nul\x00", ""])
def test_ids_with_cr_lf_nul_are_refused_before_any_request(bad: str) -> None:
    with pytest.raises(InvalidInput):
        validate_id(bad)
    db = Couch(NOWHERE, retry=False)["db"]
    for call in (
        lambda: db.get(bad),
        lambda: db.save({"_id": bad}),
        lambda: db.rev(bad),
    ):
        with pytest.raises(InvalidInput):
            call()


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"_id": "x", "a": {"b": [1, {1, 2}]}}, "document 'x': field 'a.b[1]' is a set"),
        ({"_id": "y", "k": {1: "one"}}, "key 1 in field 'k' is a int"),
        ({"when": object()}, "field 'when' is a object"),
        ({"_id": "n", "v": [0.5, float("nan")]}, "document 'n': field 'v[1]' is NaN"),
        ({"v": float("inf")}, "field 'v' is NaN or infinite"),
        ({"v": -float("inf")}, "field 'v' is NaN or infinite"),
    ],
)
def test_bodies_json_cannot_carry_are_refused_naming_the_field(body: object, says: str) -> None:
    with pytest.raises(InvalidInput) as info:
        dumps(body)
    assert says in str(info.value)


def test_a_bad_document_in_a_batch_is_named() -> None:
    with pytest.raises(InvalidInput, match="document 'two': field 'x' is a bytes"):
        dumps({"docs": [{"_id": "one"}, {"_id": "two", "x": b"raw"}]})


def test_a_bad_document_is_refused_before_any_request() -> None:
    db = Couch(NOWHERE, retry=False)["db"]
    with pytest.raises(InvalidInput, match="field 'tags' is a set"):
        db.save({"_id": "d", "tags": {"a"}})


BIG = [2**53 + 1, 2**63, 2**64 - 1, 2**64, 2**100, -(2**63) - 1, -(2**80), 10**40 + 7]


@pytest.mark.parametrize("number", BIG)
def test_integers_beyond_2_53_are_encoded_exactly(number: int) -> None:
    assert dumps({"n": number}) == b'{"n":%d}' % number
    assert dumps([number, {"deep": [number]}]) == b'[%d,{"deep":[%d]}]' % (number, number)


@pytest.mark.parametrize("number", BIG)
def test_integers_beyond_2_53_are_decoded_exactly(number: int) -> None:
    body = b'{"_id":"x","n":%d,"f":1.5,"l":[%d]}' % (number, number)
    decoded = Response(200, Headers(), body).json()
    assert decoded["n"] == number and type(decoded["n"]) is int
    assert decoded["l"] == [number] and decoded["f"] == 1.5
    assert loads(body.decode()) == decoded


def test_big_integers_stay_exact_in_feeds_and_row_blocks_too() -> None:
    lines = LineSplitter().feed(b'{"seq":1,"id":"a","doc":{"n":%d}}\n' % 2**70)
    assert lines[0]["doc"]["n"] == 2**70 and type(lines[0]["doc"]["n"]) is int
    rows = RowSplitter()
    got = rows.feed(b'{"id":"a","value":%d},{"id":"b","value":%d}]}' % (-(2**80), 2**64))
    assert got + rows.end() == [{"id": "a", "value": -(2**80)}, {"id": "b", "value": 2**64}]
    assert loads(b'{"s":"1234567890123456789012"}') == {"s": "1234567890123456789012"}
    with pytest.raises(ValueError, match="not JSON"):
        loads(b'{"n": NaN}')
    value = {"a": [1, 2], "b": "c"}
    assert exact_ints(value) is value  # nothing to change: no copy
