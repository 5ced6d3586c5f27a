"""View operations driven by hand with recorded CouchDB 3.4.3 exchanges."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from typing import Any

import pytest

from corduroy import BadRequest, Document, InvalidInput, NotFound, Row, TransportError, View
from corduroy.errors import HTTPError
from corduroy.ops import views as ops
from corduroy.ops.documents import DbRef
from corduroy.rowstream import RowStream
from corduroy.views import page_rows, rows_from
from unit.test_views_support import (
    FakeAsyncStream,
    FakeStream,
    body_bytes,
    drive,
    exchange,
    finish,
    response,
)

VIEWS = DbRef("views")
DB1 = DbRef("db1")


def view_of(name: str, area_db: DbRef = VIEWS, **options: Any) -> tuple[View, FakeStream]:
    recorded = exchange("views", name)
    stream = FakeStream(body_bytes(recorded))
    path = recorded["request"]["path"].split("?")[0]
    view_name = path.split("/_design/")[1].replace("/_view/", "/") if "_view" in path else None
    op = ops.query_view(area_db, view_name or "_all_docs", **options)
    result = drive(op, recorded, stream)
    return finish(result), stream


@pytest.mark.parametrize(
    ("case", "options"),
    [
        ("view_all", {}),
        ("view_key", {"key": "banana"}),
        ("view_keys_get", {"keys": ["cherry", "nope", "apple"]}),
        ("view_startkey_endkey", {"startkey": "b", "endkey": "d"}),
        ("view_inclusive_end_false", {"startkey": "b", "endkey": "date", "inclusive_end": False}),
        ("view_array_key_range", {"startkey": ["veg"], "endkey": ["veg", {}]}),
        ("view_include_docs", {"include_docs": True, "limit": 2}),
        ("view_limit_skip", {"limit": 2, "skip": 1}),
        ("view_descending", {"descending": True, "startkey": "d", "endkey": "b"}),
        ("view_update_seq", {"update_seq": True, "limit": 1}),
        ("view_sorted_false", {"sorted": False}),
        ("view_stable_true", {"stable": True, "limit": 2}),
        ("reduce_count_reduce_false", {"reduce": False, "limit": 3}),
        ("reduce_count_group_true", {"group": True}),
        ("reduce_sum_group_level_2", {"group_level": 2}),
        ("view_update_false_stale", {"update": False, "startkey": "y"}),
        ("view_update_lazy", {"update": "lazy", "startkey": "y"}),
        ("view_stale_ok", {"stale": "ok", "limit": 1}),
        ("view_stale_update_after", {"stale": "update_after", "limit": 1}),
    ],
)
def test_every_view_option_builds_the_recorded_request_and_reads_its_rows(
    case: str, options: dict[str, Any]
) -> None:
    recorded = exchange("views", case)
    if case == "view_keys_get":  # corduroy sends keys in a POST body (no url length limit)
        recorded = exchange("views", "view_keys_post")
    view, stream = view_of(recorded["name"], **options)
    want = recorded["response"]["body"]
    assert [dict(row) for row in view.rows] == want["rows"]
    assert view.total_rows == want.get("total_rows")
    assert view.offset == want.get("offset")
    assert view.update_seq == want.get("update_seq")
    assert view.options == options
    assert stream.complete and stream.closed


def test_keys_go_in_a_post_body_with_the_other_options_in_the_query() -> None:
    request = next(ops.query_view(VIEWS, "d/by_name", keys=["a", 1], include_docs=True))
    assert (request.method, request.target) == (
        "POST",
        "/views/_design/d/_view/by_name?include_docs=true",
    )
    assert json.loads(request.body) == {"keys": ["a", 1]}  # type: ignore[arg-type]
    assert request.is_idempotent and request.stream


def test_key_values_are_json_and_docids_are_not() -> None:
    request = next(
        ops.query_view(
            VIEWS,
            "d/v",
            key=None,
            start_key=["é", 2],
            end_key={"x": True},
            startkey_docid="doc 1",
            endkey_docid="z",
            group_level=2,
        )
    )
    assert request.query == (
        "start_key=%5B%22%C3%A9%22%2C2%5D&end_key=%7B%22x%22%3Atrue%7D"
        "&startkey_docid=doc%201&endkey_docid=z&group_level=2"
    )


@pytest.mark.parametrize(
    ("name", "path", "short"),
    [
        ("employees/byname", "/views/_design/employees/_view/byname", "employees/byname"),
        ("_design/employees/_view/byname", "/views/_design/employees/_view/byname",
         "employees/byname"),
        ("_all_docs", "/views/_all_docs", "_all_docs"),
        ("_design_docs", "/views/_design_docs", "_design_docs"),
        ("a b/c+d", "/views/_design/a%20b/_view/c%2Bd", "a b/c+d"),
    ],
)  # fmt: skip
def test_view_names(name: str, path: str, short: str) -> None:
    assert ops.view_path(VIEWS, name) == (path, short)


@pytest.mark.parametrize("bad", ["", "justaname", "a/b/c", "_design/a/b", "_all_docs/x", 3])
def test_bad_view_names_are_refused_before_any_request(bad: Any) -> None:
    with pytest.raises(InvalidInput):
        next(ops.query_view(VIEWS, bad))


def test_keys_must_be_a_list() -> None:
    with pytest.raises(InvalidInput):
        next(ops.query_view(VIEWS, "d/v", keys="abc"))


def test_all_docs_keys_report_missing_and_deleted_documents() -> None:
    recorded = exchange("views", "all_docs_keys_post_include_docs")
    op = ops.query_view(DB1, "_all_docs", keys=["doc3", "nope", "doc6"], include_docs=True)
    view = finish(drive(op, recorded))
    found, missing, deleted = view.rows
    assert found.doc is not None and found.doc.n == 3 and found.doc._id == "doc3"
    assert (missing.key, missing.error, missing.id, missing.doc) == (
        "nope",
        "not_found",
        None,
        None,
    )
    assert deleted.value.deleted is True and deleted.doc is None
    assert view.offset is None and view.total_rows == 7


def test_start_key_spellings_on_all_docs() -> None:
    recorded = exchange("views", "all_docs_start_key_aliases")
    op = ops.query_view(DB1, "_all_docs", start_key="doc2", end_key="doc4", inclusive_end=False)
    view = finish(drive(op, recorded))
    assert [row.id for row in view] == ["doc2", "doc3"]


def test_collation_order_of_mixed_keys_is_kept_as_the_server_sends_it() -> None:
    view, _ = view_of("view_collation")
    keys = [row.key for row in view]
    assert keys[:3] == [None, False, True]
    assert keys.index(10) < keys.index("") < keys.index([]) < keys.index({})
    assert keys[keys.index("a") : keys.index("ba") + 1] == ["a", "A", "aa", "b", "B", "ba"]


def test_in_band_reduce_errors_are_rows() -> None:
    view, _ = view_of("reduce_overflow_error_row")
    assert view[0].error == "reduce_overflow_error"
    assert "shrink" in view[0]["reason"]
    view, _ = view_of("reduce_sum_strings_error_row")
    assert view[0].value.error == "builtin_reduce_error"


@pytest.mark.parametrize(
    ("case", "error"),
    [
        ("view_missing_404", NotFound),
        ("view_missing_ddoc_404", NotFound),
        ("reduce_include_docs_400", BadRequest),
        ("reduce_group_on_map_view_400", BadRequest),
        ("view_update_bad_value_400", BadRequest),
    ],
)
def test_view_errors_raise(case: str, error: type[HTTPError]) -> None:
    recorded = exchange("views", case)
    name = recorded["request"]["path"].split("/_design/")[1].split("?")[0].replace("/_view/", "/")
    query = dict(
        part.split("=") for part in recorded["request"]["path"].partition("?")[2].split("&") if part
    )
    options = {k: json.loads(v) if v in ("true", "false") else v for k, v in query.items()}
    with pytest.raises(error) as info:
        drive(ops.query_view(VIEWS, name, **options), recorded)
    assert info.value.reason


# -- View: streaming, keeping, releasing ---------------------------------------


def lazy_view(rows: int = 5, chunk: int = 7, tail: str = "") -> tuple[View, FakeStream]:
    body = {"total_rows": 99, "offset": 3, "rows": [
        {"id": f"d{i}", "key": [i, "k"], "value": {"n": i}} for i in range(rows)
    ]}  # fmt: skip
    data = json.dumps(body).encode()
    if tail:
        data = data[:-1] + tail.encode() + b"}"
    stream = FakeStream(data, chunk)
    view = View("a/b", {}, response(200, b"", stream)).finish_sync()
    return view, stream


def test_blocking_view_knows_total_rows_before_reading_rows() -> None:
    view, stream = lazy_view(rows=2000)
    assert (view.total_rows, view.offset) == (99, 3)
    assert stream.pos < 200  # only the head was read


def test_a_blocking_view_is_a_sequence_read_on_first_use() -> None:
    view, stream = lazy_view(rows=2000, chunk=4096)
    assert stream.pos <= 4096  # nothing but the head (one read) yet
    assert len(list(view)) == 2000 and stream.closed
    assert [r.id for r in view] == [r.id for r in view]  # iterate any number of times
    assert tuple(view)[1999].id == view[-1].id == "d1999"
    assert [r.id for r in view[2:4]] == ["d2", "d3"]
    assert view[5] in view and sorted(view, key=lambda r: -r.key[0])[0].id == "d1999"
    assert view.index(view[7]) == 7 and next(reversed(view)).id == "d1999"
    assert repr(view) == "<a/b: 2000/99 rows>"


def test_bool_and_repr_read_a_bounded_part_of_a_blocking_view() -> None:
    view, stream = lazy_view(rows=20000, chunk=65536)
    assert view  # reads the first block of rows, no further
    first = stream.pos
    assert first < len(stream.data) / 3 and not stream.closed
    assert repr(view).endswith("+/99 rows>")  # one more block at most
    assert stream.pos - first <= 2 * 131072 and not stream.closed
    assert view.total_rows == 99 and view.offset == 3 and view.update_seq is None
    assert stream.pos < len(stream.data)  # no property read the rest
    assert len(view) == 20000 and view[0].id == "d0" and stream.closed
    empty, _ = lazy_view(rows=0)
    assert not empty and len(empty) == 0 and repr(empty) == "<a/b: 0/99 rows>"


def test_a_view_closed_before_its_rows_were_read_says_so() -> None:
    view, stream = lazy_view(rows=5)
    view.close()
    assert stream.closed
    with pytest.raises(RuntimeError, match="closed before its rows were read; query it again"):
        len(view)


def test_rowstream_streams_rows_once_without_keeping_them() -> None:
    data = lazy_view(rows=2000)[1].data
    stream = FakeStream(data, 4096)
    rows = RowStream("a/b", {}, response(200, b"", stream)).finish_sync()
    assert rows.total_rows == 99 and rows.offset == 3
    seen = 0
    for _row in rows:
        if seen == 10:
            assert stream.pos < len(stream.data) / 2  # rows arrive before the body ends
        seen += 1
    assert seen == 2000 and stream.closed
    with pytest.raises(RuntimeError, match="read once and not kept"):
        iter(rows)
    early = FakeStream(data, 100)
    with RowStream("a/b", {}, response(200, b"", early)).finish_sync() as rows:
        assert next(iter(rows)).id == "d0"
    assert early.closed and not early.complete


def test_indexing_keeps_the_rows_and_they_can_be_iterated_again() -> None:
    view, stream = lazy_view(rows=4)
    assert len(view) == 4 and view[1].key == [1, "k"]
    assert [r.id for r in view] == [r.id for r in view] == ["d0", "d1", "d2", "d3"]
    assert repr(view) == "<a/b: 4/99 rows>"
    assert stream.closed


def test_with_block_and_close_release_an_unread_view() -> None:
    view, stream = lazy_view(rows=500)
    with view as rows:
        assert next(iter(rows)).id == "d0"
    assert stream.closed
    view, stream = lazy_view(rows=500)
    view.close()
    assert stream.closed


def test_a_dropped_view_releases_its_connection() -> None:
    view, stream = lazy_view(rows=500)
    del view
    assert stream.closed


def test_update_seq_after_the_rows_is_found_in_the_tail() -> None:
    view, _ = lazy_view(rows=300, chunk=1000, tail=', "update_seq": 42, "x": [1, "]"]')
    assert [r.id for r in view][-1] == "d299"
    assert view.update_seq == 42
    view, _ = lazy_view(rows=3, tail=', "update_seq": "7-abc"')
    assert view.update_seq is None  # sent after the rows, which are not read yet
    assert len(view) == 3 and view.update_seq == "7-abc"


def test_awaited_view_reads_every_row() -> None:
    recorded = exchange("views", "view_include_docs")
    stream = FakeAsyncStream(body_bytes(recorded), chunk=5)
    view = View("d/by_name", {}, response(200, b"", stream))
    done = asyncio.run(view.finish_async())
    assert done is view and stream.closed
    assert [r.doc._id for r in view] == [r.doc._id for r in view] == ["apple", "apricot"]
    assert repr(view) == "<d/by_name: 2/8 rows>"


def test_row_repr_is_the_original_corduroys() -> None:
    make = Row.from_mapping
    assert repr(make({"id": "emp-1", "key": "abbott", "value": 58})) == '<Row "abbott" emp-1 / 58>'
    assert repr(make({"key": "blah", "error": "not_found"})) == (
        '<Row "blah" / None \u00abnot_found\u00bb>'
    )
    assert repr(make({"key": None, "value": ["nothing"]})) == "<Row / ['nothing']>"
    assert repr(make({"key": 0, "value": None})) == '<Row "0" / None>'
    with_doc = make({"id": "a", "key": ["x", 1], "value": {"rev": "1-z"}, "doc": {"_id": "a"}})
    assert repr(with_doc) == "<Row+ \"['x', 1]\" a / rev:1-z>"


def test_row_is_attributes_and_a_mapping() -> None:
    row = Row.from_mapping({"id": "emp-1", "key": ["2007", "11"], "value": 20})
    assert "%(key)s → %(value)i" % row == "['2007', '11'] → 20"
    assert (row.key, row.id, row.value, row.doc, row.error) == (["2007", "11"], "emp-1", 20, None,
                                                                None)  # fmt: skip
    assert dict(row) == {"id": "emp-1", "key": ["2007", "11"], "value": 20}
    assert row == {"id": "emp-1", "key": ["2007", "11"], "value": 20}
    with pytest.raises(KeyError):
        row["doc"]


def test_rows_of_a_database_with_its_own_document_class() -> None:
    class Employee(Document):
        pass

    (row,) = rows_from([{"id": "e", "key": 1, "value": 2, "doc": {"_id": "e"}}], Employee)
    assert type(row.doc) is Employee and row.doc is row.doc  # converted once
    assert isinstance(row, Row) and isinstance(row, Mapping)
    (deleted,) = rows_from([{"id": "x", "key": "x", "value": {"deleted": True}, "doc": None}])
    assert deleted.doc is None and deleted.value.deleted is True and "doc" in deleted


def test_a_page_read_whole_decodes_rows_with_any_fields() -> None:
    rows, seq = page_rows(b'{"total_rows":2,"offset":0,"rows":[{"id":"a","key":1,"value":2}],'
                          b'"update_seq":"9-g1AAA"}')  # fmt: skip
    assert (rows, seq) == ([{"id": "a", "key": 1, "value": 2}], "9-g1AAA")
    assert type(rows[0]) is Row
    rows, seq = page_rows(b'{"rows":[{"key":null,"value":3,"node":"n1"}]}')  # another field
    assert rows[0]["node"] == "n1" and rows[0].value == 3 and seq is None
    with pytest.raises(TransportError, match="not an object"):
        page_rows(b"[1,2]")
    with pytest.raises(TransportError, match="not JSON"):
        page_rows(b"<html>")


def test_rows_that_are_not_objects_are_a_clear_error() -> None:
    with pytest.raises(TransportError, match="list of objects"):
        rows_from([{"id": "a"}, 7])
    with pytest.raises(TransportError, match="list of objects"):
        rows_from({"rows": []})


def test_temp_view_posts_the_functions() -> None:
    op = ops.temp_view(VIEWS, "function(d){emit(d.n)}", "_count", group=True)
    request = next(op)
    assert (request.method, request.target) == ("POST", "/views/_temp_view?group=true")
    assert json.loads(request.body) == {  # type: ignore[arg-type]
        "language": "javascript", "map": "function(d){emit(d.n)}", "reduce": "_count"
    }  # fmt: skip


@pytest.mark.parametrize("status", [404, 405, 410])
def test_temp_view_on_couchdb_2_says_what_to_do(status: int) -> None:
    op = ops.temp_view(VIEWS, "function(d){emit(d.n)}")
    next(op)
    gone = HTTPError(status, "not_found", "missing", method="POST", url="http://x/views/_temp_view")
    with pytest.raises(HTTPError, match="removed them") as info:
        op.throw(gone)
    assert info.value.status == status


def test_design_info_compact_and_cleanup() -> None:
    info = drive(ops.design_info(VIEWS, "_design/d"), exchange("views", "view_info"))
    assert info.name == "d" and info.view_index.signature
    assert drive(ops.compact(DB1), exchange("views", "compact_202")) == {"ok": True}
    assert drive(ops.compact(DB1, "app"), exchange("views", "compact_view_202")).ok
    with pytest.raises(NotFound):
        drive(ops.compact(DB1, "nope"), exchange("views", "compact_view_missing_ddoc_404"))
    assert drive(ops.cleanup(DB1), exchange("views", "view_cleanup_202")).ok


def test_limit_that_is_not_a_number_is_a_bad_request() -> None:
    with pytest.raises(BadRequest):
        drive(
            ops.query_view(DB1, "_all_docs", limit="abc"),
            exchange("views", "all_docs_bad_limit_400"),
        )
