"""Mango operations driven by hand with recorded CouchDB 3.4.3 exchanges."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from corduroy import BadRequest, NotFound, ServerError, UnsupportedMediaType
from corduroy.errors import HTTPError
from corduroy.ops import mango
from corduroy.ops.documents import DbRef
from corduroy.views import FindResult, FoundStream
from unit.test_views_support import FakeAsyncStream, body_bytes, drive, exchange, finish, response

MANGO = DbRef("mango")


def found(case: str, **options: Any) -> FindResult:
    recorded = exchange("mango", case)
    body = dict(recorded["request"]["body"])
    selector = body.pop("selector")
    result = finish(drive(mango.find(MANGO, selector, **options), recorded))
    assert isinstance(result, FindResult)
    return result


def test_find_returns_docs_and_bookmark() -> None:
    result = found("find_basic", fields=["_id", "age"], sort=[{"age": "asc"}], limit=3)
    assert [(d._id, d.age) for d in result] == [("heidi", 23), ("bob", 25), ("frank", 28)]
    assert result.bookmark and result.bookmark.startswith("g2wAAAAC")
    assert result.warning is None and result.execution_stats is None
    assert result.docs == list(result)


def test_find_pages_with_bookmarks_until_empty() -> None:
    first = found("find_page1", fields=["_id", "age"], limit=3)
    second = found("find_page2_bookmark", fields=["_id", "age"], limit=3, bookmark=first.bookmark)
    assert not {d._id for d in first} & {d._id for d in second}
    mark = exchange("mango", "find_page4_bookmark_empty")["request"]["body"]["bookmark"]
    last = found("find_page4_bookmark_empty", fields=["_id", "age"], limit=3, bookmark=mark)
    assert list(last) == [] and last.bookmark


def test_find_options() -> None:
    assert len(found("find_skip", **_opts("find_skip"))) >= 1
    stats = found("find_execution_stats", fields=["_id"], execution_stats=True)
    assert stats.execution_stats is not None and stats.execution_stats.results_returned == 7
    warned = found("find_no_index_warning", fields=["_id", "tags"])
    assert warned.warning and "No matching index" in warned.warning
    used = found("find_use_index", **_opts("find_use_index"))
    assert len(used) > 0
    assert found("find_conflicts_r", **_opts("find_conflicts_r")) is not None


def _opts(case: str) -> dict[str, Any]:
    body = dict(exchange("mango", case)["request"]["body"])
    body.pop("selector")
    return body


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("find_use_index_no_fallback_400", BadRequest),
        ("find_sort_no_index_400", BadRequest),
        ("find_bad_operator_400", BadRequest),
        ("find_bad_limit_400", BadRequest),
    ],
)
def test_find_errors(case: str, error: type[HTTPError]) -> None:
    recorded = exchange("mango", case)
    body = dict(recorded["request"]["body"])
    selector = body.pop("selector")
    with pytest.raises(error) as info:
        drive(mango.find(MANGO, selector, **body), recorded)
    assert info.value.reason


def test_find_sends_json_so_never_415() -> None:
    request = next(mango.find(MANGO, {"a": 1}))
    assert request.header("Content-Type") == "application/json"
    assert (
        exchange("mango", "find_text_plain_415")["response"]["status"] == UnsupportedMediaType.code
    )


def test_awaited_find_reads_the_docs_and_tail() -> None:
    recorded = exchange("mango", "find_no_index_warning")
    stream = FakeAsyncStream(body_bytes(recorded), chunk=9)
    result = asyncio.run(FoundStream(response(200, b"", stream)).finish_async())
    assert len(result) == 6 and result.warning and result.bookmark and stream.closed


def test_indexes_create_list_delete() -> None:
    created = drive(mango.create_index(MANGO, ["age"], "age-idx", "age-ddoc", type="json"),
                    exchange("mango", "index_create"))  # fmt: skip
    assert created.result == "created"
    again = drive(mango.create_index(MANGO, ["age"], "age-idx", "age-ddoc", type="json"),
                  exchange("mango", "index_create_exists"))  # fmt: skip
    assert again.result == "exists"
    auto = drive(mango.create_index(MANGO, ["dept", "age"]),
                 exchange("mango", "index_create_auto_names"))  # fmt: skip
    assert auto.id.startswith("_design/")
    partial = exchange("mango", "index_create_partial")["request"]["body"]
    drive(mango.create_index(MANGO, partial["index"]["fields"], partial["name"], partial["ddoc"],
                             partial_filter_selector=partial["index"]["partial_filter_selector"]),
          exchange("mango", "index_create_partial"))  # fmt: skip
    listed = drive(mango.list_indexes(MANGO), exchange("mango", "index_list"))
    assert listed[0].name == "_all_docs" and {i.name for i in listed} >= {"age-idx", "eng-name"}
    deleted = drive(mango.delete_index(MANGO, "age-ddoc", "age-idx"),
                    exchange("mango", "index_delete"))  # fmt: skip
    assert deleted.ok
    with pytest.raises(NotFound):
        drive(mango.delete_index(MANGO, "age-ddoc", "age-idx"),
              exchange("mango", "index_delete_missing_404"))  # fmt: skip
    entry = next(i for i in listed if i.name == "eng-name")  # an entry of indexes() works too
    recorded = _with_path("index_delete_prefixed_ddoc", "/mango/_index/eng-ddoc/json/eng-name")
    assert drive(mango.delete_index(MANGO, entry), recorded).ok


def _with_path(case: str, path: str) -> dict[str, Any]:
    recorded = dict(exchange("mango", case))
    recorded["request"] = {**recorded["request"], "path": path}
    return recorded


def test_index_errors() -> None:
    # CouchDB refuses a bare string (index_create_bad_400); corduroy makes it a list
    request = next(mango.create_index(MANGO, "age"))
    assert request.body == b'{"index":{"fields":["age"]}}'
    text = exchange("mango", "index_create_text_no_search_503")["request"]["body"]
    with pytest.raises(ServerError):
        op = mango.create_index(MANGO, text["index"]["fields"], text.get("name"), type="text")
        drive(op, exchange("mango", "index_create_text_no_search_503"))


def test_explain() -> None:
    plan = drive(mango.explain(MANGO, {"age": {"$gt": 20}}, sort=[{"age": "asc"}], limit=2),
                 exchange("mango", "explain"))  # fmt: skip
    assert plan.index.name == "age-idx"
    plan = drive(mango.explain(MANGO, **_explain_opts()), exchange("mango", "explain_no_index"))
    assert plan.index.name == "_all_docs"


def _explain_opts() -> dict[str, Any]:
    body = dict(exchange("mango", "explain_no_index")["request"]["body"])
    return {"selector": body.pop("selector"), **body}
