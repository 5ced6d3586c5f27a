"""Property tests (hypothesis, bounded): ids and documents round-trip; NaN never leaves."""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from corduroy import Database
from corduroy.errors import InvalidInput
from corduroy.http.jsonexact import loads
from corduroy.ops.base import dumps

pytestmark = pytest.mark.timeout(300)

SERVER = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

#: any text a document id may be: not empty, no CR/LF/NUL, no surrogates (not UTF-8),
#: not starting with "_" (reserved for _design/ and _local/)
ids = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
    min_size=1,
    max_size=40,
).filter(lambda s: not s.startswith("_"))

keys = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12).filter(
    lambda s: not s.startswith("_")
)

#: JSON values; integers within 2^53 (pouchdb-server keeps numbers as JS doubles)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30)
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)
documents = st.dictionaries(keys, values, max_size=6)


@SERVER
@given(docid=ids)
def test_any_unicode_id_round_trips(tmp_db: Database, docid: str) -> None:
    saved = tmp_db.save({"_id": docid, "v": docid})
    assert saved.ok
    doc = tmp_db.get(docid)
    assert doc["_id"] == docid and doc["v"] == docid
    assert docid in tmp_db
    tmp_db.delete(doc)
    assert docid not in tmp_db


@SERVER
@given(body=documents)
def test_any_json_document_round_trips(tmp_db: Database, body: dict[str, Any]) -> None:
    doc = {"_id": "doc", **body}
    current = tmp_db.rev("doc")
    if current is not None:
        doc["_rev"] = current
    assert tmp_db.save(doc).ok
    back = tmp_db.get("doc")
    assert same({k: v for k, v in back.items() if not k.startswith("_")}, body)


def same(got: Any, sent: Any) -> bool:
    """Equal as JSON: a whole float may come back written as an integer (JavaScript
    writes 1e16 as 10000000000000000), which must still be the same double."""
    if isinstance(sent, float) and isinstance(got, int | float) and not isinstance(got, bool):
        return float(got) == sent
    if isinstance(sent, dict):
        return (
            isinstance(got, dict)
            and got.keys() == sent.keys()
            and all(same(got[k], sent[k]) for k in sent)
        )
    if isinstance(sent, list):
        return (
            isinstance(got, list)
            and len(got) == len(sent)
            and all(same(g, s) for g, s in zip(got, sent, strict=True))
        )
    return type(got) is type(sent) and got == sent


def _with_a_bad_float(doc: Any, bad: float, path: list[int]) -> Any:
    """``doc`` with ``bad`` put somewhere inside it, chosen by ``path``."""
    if isinstance(doc, dict) and doc and path:
        key = sorted(doc)[path[0] % len(doc)]
        return {**doc, key: _with_a_bad_float(doc[key], bad, path[1:])}
    if isinstance(doc, list) and doc and path:
        index = path[0] % len(doc)
        return [*doc[:index], _with_a_bad_float(doc[index], bad, path[1:]), *doc[index + 1 :]]
    if isinstance(doc, dict):
        return {**doc, "bad": bad}
    return [doc, bad]


@settings(max_examples=200, deadline=None)
@given(
    body=documents,
    bad=st.sampled_from([math.nan, math.inf, -math.inf]),
    path=st.lists(st.integers(min_value=0, max_value=10), max_size=5),
)
def test_nan_and_infinities_are_refused_wherever_they_are(
    body: dict[str, Any], bad: float, path: list[int]
) -> None:
    doc = _with_a_bad_float({"_id": "x", **body}, bad, path)
    with pytest.raises(InvalidInput, match="NaN or infinite"):
        dumps(doc)


@settings(max_examples=200, deadline=None)
@given(
    body=documents,
    big=st.integers(min_value=2**53 + 1, max_value=2**200),
    negative=st.booleans(),
)
def test_big_integers_survive_our_encoding_and_decoding(
    body: dict[str, Any], big: int, negative: bool
) -> None:
    big = -big if negative else big
    doc = {**body, "big": big, "nested": [big, {"big": big}]}
    assert loads(dumps(doc)) == doc
