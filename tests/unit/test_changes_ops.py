"""Normal and longpoll ``_changes`` operations, driven by hand with recorded CouchDB 3 answers."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
from core_recorded import error_of, response_of

from corduroy.changes import ChangesResult
from corduroy.document import Document
from corduroy.errors import InvalidInput, NotFound
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops import changes as ops
from corduroy.ops.documents import DbRef
from corduroy.ops.replication import ServerTraits

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "couchdb3"
DB = DbRef("ch")


@cache
def recorded(area: str) -> dict[str, dict[str, Any]]:
    out = {}
    for line in (FIXTURES / f"{area}.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            item = json.loads(line)
            out[item["name"]] = item
    return out


def case(name: str) -> dict[str, Any]:
    return recorded("changes")[name]


def split_target(target: str) -> tuple[str, dict[str, str]]:
    path, _, query = target.partition("?")
    return path, dict(parse_qsl(query))


def assert_request(request: Request, name: str) -> None:
    want = case(name)["request"]
    assert request.method == want["method"]
    assert split_target(request.target) == split_target(want["path"])
    if want["body"] is not None:
        assert isinstance(request.body, bytes)
        assert json.loads(request.body) == want["body"]


def couchdb_traits() -> ServerTraits:
    traits = ServerTraits()
    traits.couchdb = True
    return traits


def run(name: str, traits: ServerTraits | None = None, **options: Any) -> ChangesResult:
    op = ops.changes(DB, traits or couchdb_traits(), **options)
    request = next(op)
    assert_request(request, name)
    recorded_case = case(name)
    try:
        if recorded_case["response"]["status"] >= 400:
            op.throw(error_of(request, recorded_case))
        op.send(response_of(recorded_case))
    except StopIteration as stop:
        result: ChangesResult = stop.value
        return result
    raise AssertionError("the operation asked for a second request")


def test_normal_feed_has_opaque_string_seqs_and_pending() -> None:
    result = run("changes_normal")
    body = case("changes_normal")["response"]["body"]
    assert result.last_seq == body["last_seq"]
    assert isinstance(result.last_seq, str)
    assert result.pending == 0
    assert [c.id for c in result.results] == [r["id"] for r in body["results"]]
    assert len(result) == len(body["results"])
    deleted = [c.id for c in result if c.get("deleted")]
    assert deleted == ["d5"]
    assert result[0].changes[0].rev == body["results"][0]["changes"][0]["rev"]


def test_since_sends_the_opaque_seq_back_verbatim() -> None:
    since = split_target(case("changes_since_seq")["request"]["path"])[1]["since"]
    result = run("changes_since_seq", since=since)
    assert all(isinstance(c.seq, str) for c in result)


def test_since_now() -> None:
    result = run("changes_since_now", since="now")
    assert result.results == []
    assert result.last_seq == case("changes_since_now")["response"]["body"]["last_seq"]


def test_limit_leaves_pending() -> None:
    result = run("changes_limit", limit=2)
    assert len(result) == 2
    assert result.pending == 4


def test_descending() -> None:
    result = run("changes_descending", descending=True)
    body = case("changes_descending")["response"]["body"]
    assert [c.id for c in result] == [r["id"] for r in body["results"]]


def test_include_docs_gives_documents() -> None:
    result = run("changes_include_docs", include_docs=True)
    live = [c for c in result if not c.get("deleted")]
    assert live and all(isinstance(c.doc, Document) for c in live)
    assert all(c.doc["_id"] == c.id for c in result)


def test_style_all_docs_lists_every_leaf() -> None:
    result = run("changes_style_all_docs", style="all_docs")
    assert max(len(c.changes) for c in result) > 1


def test_conflicts_with_doc_ids_in_the_query() -> None:
    # the recorder sent doc_ids in the query string; corduroy puts them in a POST body
    op = ops.changes(DB, couchdb_traits(), include_docs=True, conflicts=True, doc_ids=["d1"])
    request = next(op)
    assert request.method == "POST"
    assert split_target(request.target)[1] == {
        "include_docs": "true",
        "conflicts": "true",
        "filter": "_doc_ids",
    }
    assert request.body is not None and json.loads(request.body) == {"doc_ids": ["d1"]}
    with pytest.raises(StopIteration) as stop:
        op.send(response_of(case("changes_conflicts")))
    (change,) = stop.value.value.results
    assert change.doc._conflicts


def test_doc_ids_go_in_a_post_body() -> None:
    result = run("changes_filter_doc_ids_post", doc_ids=["d2", "d4"])
    assert sorted(c.id for c in result) == ["d2", "d4"]


def test_selector_is_a_post_body_on_couchdb() -> None:
    result = run("changes_filter_selector", selector={"type": "b"})
    assert {c.id for c in result} == {
        r["id"] for r in case("changes_filter_selector")["response"]["body"]["results"]
    }


def test_selector_detects_the_server_once_and_uses_the_query_on_pouchdb() -> None:
    traits = ServerTraits()
    op = ops.changes(DB, traits, selector={"type": "b"})
    probe = next(op)
    assert (probe.method, probe.path) == ("GET", "/")
    root = Response(200, Headers(), b'{"express-pouchdb":"Welcome!","version":"4.2.0"}')
    request = op.send(root)
    assert traits.couchdb is False
    assert request.method == "GET" and request.body is None
    query = split_target(request.target)[1]
    assert query["filter"] == "_selector"
    assert json.loads(query["selector"]) == {"type": "b"}
    # known now: the next call asks no more
    again = next(ops.changes(DB, traits, selector={"type": "b"}))
    assert again.path == "/ch/_changes"


def test_view_filter() -> None:
    result = run("changes_filter_view", view="f/typed")
    body = case("changes_filter_view")["response"]["body"]
    assert [c.id for c in result] == [r["id"] for r in body["results"]]


def test_design_filter_with_extra_query_parameters() -> None:
    result = run("changes_filter_ddoc_fn", filter="f/by_type", type="b")
    ids = {r["id"] for r in case("changes_filter_ddoc_fn")["response"]["body"]["results"]}
    assert {c.id for c in result} == ids


def test_missing_filter_raises_not_found() -> None:
    with pytest.raises(NotFound):
        run("changes_filter_missing_404", filter="f/nope")


def test_missing_database_raises_not_found() -> None:
    op = ops.changes(DbRef("no_such_db"), couchdb_traits())
    request = next(op)
    with pytest.raises(NotFound):
        op.throw(error_of(request, case("changes_missing_db_404")))


def test_seq_interval_rows_without_seq() -> None:
    result = run("changes_seq_interval", seq_interval=2)
    assert [c.seq is None for c in result][:2] == [False, True]
    assert isinstance(result.last_seq, str)


def test_longpoll_waits_longer_than_its_timeout_and_parses_blank_lines() -> None:
    result = run("changes_longpoll_timeout", feed="longpoll", since="now", timeout=1000)
    assert result.results == [] and result.pending == 0
    request = next(ops.changes(DB, couchdb_traits(), feed="longpoll", timeout=1000))
    assert request.timeout is not None and request.timeout > 1.0


def test_longpoll_rows_separated_by_crlf() -> None:
    op = ops.changes(DB, couchdb_traits(), feed="longpoll", since=0, limit=2)
    request = next(op)
    query = split_target(request.target)[1]
    # no timeout given: CouchDB's default is asked for explicitly, and read for longer
    assert query == {"feed": "longpoll", "since": "0", "limit": "2", "timeout": "60000"}
    assert request.timeout is not None and request.timeout > 60
    with pytest.raises(StopIteration) as stop:
        op.send(response_of(case("changes_longpoll_immediate")))
    result = stop.value.value
    assert [c.id for c in result] == ["d4", "d5"]
    assert result.pending == 4


@pytest.mark.parametrize(
    "options",
    [
        {"filter": "onlyname"},
        {"filter": "_view"},
        {"filter": "_view", "view": "noslash"},
        {"filter": "_selector"},
        {"filter": "_doc_ids"},
        {"filter": "_bogus"},
        {"doc_ids": "d1"},
        {"feed": "eventsource"},
        {"feed": "bogus"},
        {"feed": "continuous"},
    ],
)
def test_refused_before_sending(options: dict[str, Any]) -> None:
    # pouchdb-server dies on several of these: nothing may be sent
    with pytest.raises(InvalidInput):
        next(ops.changes(DB, ServerTraits(), **options))


def test_repr() -> None:
    result = ChangesResult([], "8-g1AAA", 0)
    assert repr(result) == "<Changes: 0 results, last_seq '8-g1AAA'>"
