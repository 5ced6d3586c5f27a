"""What JSON cannot carry is refused with a clear error before any request is made."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import json
import math
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from corduroy import Couch, InvalidInput, NotJSON
from corduroy.ops import documents as ops
from corduroy.ops import server as server_ops
from corduroy.ops.base import dumps, validate_id

NAN = math.nan
INF = math.inf


@pytest.fixture
def ref() -> ops.DbRef:
    return ops.DbRef("db")


def refused(op: Any) -> InvalidInput:
    """The op refuses at its very start, before yielding any request."""
    with pytest.raises(InvalidInput) as info:
        next(op)
    return info.value


@pytest.mark.parametrize(
    ("doc", "field"),
    [
        ({"_id": "a", "x": NAN}, "x"),
        ({"_id": "a", "x": INF}, "x"),
        ({"_id": "a", "x": -INF}, "x"),
        ({"_id": "a", "ok": None, "deep": {"er": {"x": [1, None, NAN]}}}, "deep.er.x[2]"),
        ({"_id": "a", "rows": [{"v": 1.5}, {"v": -INF}]}, "rows[1].v"),
        ({"_id": "a", "t": (1, (2, NAN))}, "t[1][1]"),
    ],
)
def test_nan_and_infinity_are_refused_naming_doc_and_field(
    ref: ops.DbRef, doc: dict[str, Any], field: str
) -> None:
    error = refused(ops.put_doc(ref, doc))
    message = str(error)
    assert "'a'" in message
    assert repr(field) in message
    assert "_rev" not in doc


def test_nan_in_a_batch_names_the_document_and_its_field(ref: ops.DbRef) -> None:
    batch = [{"_id": "fine", "v": 1}, {"_id": "bad-one", "v": {"w": [NAN]}}]
    message = str(refused(ops.bulk_docs(ref, batch)))
    assert "'bad-one'" in message and "'v.w[0]'" in message
    assert "fine" not in message


def test_nan_in_a_new_document_is_refused_before_asking_for_uuids(ref: ops.DbRef) -> None:
    doc = {"score": NAN}
    message = str(refused(ops.put_doc(ref, doc)))
    assert "'score'" in message
    assert "_id" not in doc  # not given an id it will never be saved under
    assert len(ref.uuids) == 0


def test_unserialisable_in_a_new_document_in_a_batch_is_refused_before_uuids(
    ref: ops.DbRef,
) -> None:
    batch = [{"_id": "x", "v": 1}, {"v": {1, 2}}]
    message = str(refused(ops.bulk_docs(ref, batch)))
    assert "set" in message and "index 1" in message
    assert "_id" not in batch[1]


@pytest.mark.parametrize(
    "value",
    [object(), {1, 2}, b"bytes", decimal.Decimal("1.5"), socket],
    ids=["object", "set", "bytes", "decimal", "module"],
)
def test_unserialisable_values_are_refused(ref: ops.DbRef, value: Any) -> None:
    message = str(refused(ops.put_doc(ref, {"_id": "doc-7", "nested": {"v": value}})))
    assert "'doc-7'" in message
    assert type(value).__name__ in message


@dataclasses.dataclass
class Point:
    x: int


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2026, 1, 2, 3, 4), datetime.date(2026, 1, 2), datetime.time(3, 4),
        uuid.UUID(int=7), decimal.Decimal("1.5"), {1, 2}, b"bytes", Point(1),
    ],
    ids=["datetime", "date", "time", "uuid", "decimal", "set", "bytes", "dataclass"],
)  # fmt: skip
def test_values_json_cannot_hold_faithfully_are_refused_as_typeerror_too(
    ref: ops.DbRef, value: Any
) -> None:
    with pytest.raises(NotJSON) as raised:
        next(ops.put_doc(ref, {"_id": "doc-7", "nested": [{"v": value}]}))
    assert isinstance(raised.value, InvalidInput) and isinstance(raised.value, TypeError)
    message = str(raised.value)
    assert "'doc-7'" in message and "'nested[0].v'" in message
    assert type(value).__name__ in message and "json_default" in message


def test_uuid_shaped_strings_are_fine_and_a_uuid_among_them_is_found() -> None:
    ids = [str(uuid.UUID(int=n)) for n in range(50)]
    body = {"docs": [{"_id": docid, "parent": ids[0]} for docid in ids]}
    assert json.loads(dumps(body)) == body
    body["docs"][7]["parent"] = uuid.UUID(ids[3])
    with pytest.raises(NotJSON, match=f"document '{ids[7]}': field 'parent' is a UUID"):
        dumps(body)


@pytest.mark.parametrize(
    "where",
    ["top id", "nested id", "one doc's id", "one doc's field", "large body", "list body"],
)
def test_a_uuid_is_found_among_uuid_shaped_str_ids(where: str) -> None:
    """Only the documents' own str ``_id`` are set aside: a UUID anywhere else is refused,
    also where it takes an ``_id``'s place or a large body is scanned in slices."""
    ids = [str(uuid.UUID(int=n)) for n in range(2000 if where == "large body" else 20)]
    docs: list[Any] = [{"_id": docid, "n": n} for n, docid in enumerate(ids)]
    body: Any = {"docs": docs}
    assert json.loads(dumps(body)) == body
    if where == "top id" or where == "large body":
        docs[-1]["_id"] = uuid.UUID(ids[-1])
    elif where == "nested id":
        docs[3]["ref"] = {"_id": uuid.UUID(ids[0])}
    elif where == "one doc's id":
        body = {"_id": uuid.UUID(ids[0])}
    elif where == "one doc's field":
        body = {"_id": ids[0], "also": uuid.UUID(ids[1])}
    else:
        body = [ids[0], uuid.UUID(ids[1])]
    with pytest.raises(NotJSON, match="is a UUID"):
        dumps(body)


def test_json_default_converts_what_would_be_refused() -> None:
    when = datetime.datetime(2026, 1, 2, 3, 4)
    doc = {"_id": "a", "when": when, "tags": {"x"}, "n": decimal.Decimal("2.5")}

    def convert(value: Any) -> Any:
        if isinstance(value, set):
            return sorted(value)
        if isinstance(value, decimal.Decimal):
            return str(value)
        return value.isoformat()

    assert json.loads(dumps(doc, default=convert)) == {
        "_id": "a", "when": "2026-01-02T03:04:00", "tags": ["x"], "n": "2.5",
    }  # fmt: skip
    with pytest.raises(NotJSON, match="'when'"):
        dumps(doc, default=lambda value: object())


@pytest.mark.parametrize("key", [1, 2.5, None, ("t",)])
def test_non_string_keys_are_refused(ref: ops.DbRef, key: Any) -> None:
    message = str(refused(ops.put_doc(ref, {"_id": "k", "inner": {key: "v"}})))
    assert "'k'" in message and "str" in message


def test_a_finite_float_and_a_null_are_fine() -> None:
    value = {"a": 1.5, "b": None, "c": [None, 0.0, -2e300]}
    assert json.loads(dumps(value)) == value
    assert dumps("null") == b'"null"'


@pytest.mark.parametrize(
    ("docid", "what"),
    [("a\rb", "CR"), ("a\nb", "LF"), ("a\x00b", "NUL"), ("\r\n", "CR")],
)
def test_ids_with_control_characters_are_refused(ref: ops.DbRef, docid: str, what: str) -> None:
    for op in (
        ops.get_doc(ref, docid),
        ops.doc_rev(ref, docid),
        ops.delete_doc(ref, docid, "1-a"),
        ops.put_doc(ref, {"_id": docid}),
        ops.bulk_docs(ref, [{"_id": "ok"}, {"_id": docid}]),
        ops.get_docs(ref, ["ok", docid]),
    ):
        assert what in str(refused(op))


@pytest.mark.parametrize("docid", [None, 5, 1.0, b"bytes", ["a"], ""])
def test_ids_that_are_not_strings_are_refused(ref: ops.DbRef, docid: Any) -> None:
    assert isinstance(refused(ops.get_doc(ref, docid)), ValueError)
    refused(ops.doc_rev(ref, docid))
    refused(ops.delete_doc(ref, docid, "1-a"))
    refused(ops.get_docs(ref, ["ok", docid]))
    if docid is not None:  # a None _id means "no id yet": the server makes one
        refused(ops.put_doc(ref, {"_id": docid}))


@pytest.mark.parametrize("name", ["", "a\nb", "x\x00", None, 3])
def test_bad_database_names_are_refused(name: Any) -> None:
    refused(server_ops.create_db(name))
    refused(server_ops.db_exists(name))
    refused(ops.get_doc(ops.DbRef(name), "doc"))


def test_validate_id_returns_the_id() -> None:
    assert validate_id("ünï/+?&# x") == "ünï/+?&# x"


def test_nan_in_a_json_query_option_is_refused() -> None:
    refused(server_ops.all_dbs(startkey=NAN))


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]  # bound but not listening: connecting is refused


def test_public_calls_refuse_before_connecting(closed_port: int) -> None:
    db = Couch(f"http://127.0.0.1:{closed_port}/")["db"]
    with pytest.raises(InvalidInput, match="'x'"):
        db.save({"_id": "a", "x": NAN})
    with pytest.raises(InvalidInput, match="'x'"):
        db.save([{"_id": "a", "x": INF}])
    with pytest.raises(InvalidInput):
        db.get("a\nb")
    with pytest.raises(InvalidInput):
        db.get(None)  # type: ignore[call-overload]
    with pytest.raises(InvalidInput):
        db.delete("a", None)
