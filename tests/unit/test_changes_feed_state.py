"""The continuous-feed state machine (``FeedState``), with recorded CouchDB 3 bodies."""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import parse_qsl

import pytest
from core_recorded import recorded

from corduroy.errors import (
    BadRequest,
    ConnectionDropped,
    Forbidden,
    NotFound,
    ServerError,
    Timeout,
    TooManyRequests,
    Unauthorized,
)
from corduroy.ops.changes import DEFAULT_HEARTBEAT_MS, FeedState, LineSplitter
from corduroy.ops.documents import DbRef

DB = DbRef("ch")


def case(name: str) -> dict[str, Any]:
    return recorded("changes")[name]


def query(state: FeedState) -> dict[str, str]:
    return dict(parse_qsl(state.request().query))


def body_of(name: str) -> bytes:
    body = case(name)["response"]["body"]
    assert isinstance(body, str)
    return body.encode()


def chunks_of(name: str) -> list[bytes]:
    return [c.encode() for c in case(name)["response"]["chunks"]]


def recorded_ids(name: str) -> list[str]:
    lines = [json.loads(line) for line in body_of(name).splitlines() if line.strip()]
    return [line["id"] for line in lines if "id" in line]


def test_first_request_asks_for_heartbeats_and_a_longer_read_timeout() -> None:
    state = FeedState(DB, {"since": 0})
    request = state.request()
    assert (request.method, request.path, request.stream) == ("GET", "/ch/_changes", True)
    assert query(state) == {
        "feed": "continuous",
        "since": "0",
        "heartbeat": str(DEFAULT_HEARTBEAT_MS),
    }
    assert request.timeout is not None and request.timeout > DEFAULT_HEARTBEAT_MS / 1000


def test_a_given_heartbeat_sets_the_watchdog() -> None:
    state = FeedState(DB, {"heartbeat": 500})
    assert query(state)["heartbeat"] == "500"
    assert 0.5 < state.read_timeout < DEFAULT_HEARTBEAT_MS / 1000


def test_heartbeat_chunks_from_couchdb3() -> None:
    name = "changes_continuous_heartbeat"
    state = FeedState(DB, {"since": 0, "heartbeat": 200})
    for chunk in chunks_of(name):
        state.receive(chunk)
    changes = state.take()
    assert [c.id for c in changes] == recorded_ids(name)
    assert state.since == changes[-1].seq  # the opaque string, as received
    assert state.last_seq == changes[-1].seq
    assert not state.server_ended and not state.finished


@pytest.mark.parametrize("size", [1, 7, 100])
def test_chunk_boundaries_do_not_matter(size: int) -> None:
    body = body_of("changes_continuous_live")
    state = FeedState(DB, {})
    for start in range(0, len(body), size):
        state.receive(body[start : start + size])
    assert [c.id for c in state.take()] == ["cont1"]


def test_an_asked_for_timeout_ends_the_feed() -> None:
    state = FeedState(DB, {"since": 0, "timeout": 1500})
    assert "heartbeat" not in query(state)  # CouchDB ignores timeout when heartbeat is set
    assert query(state)["timeout"] == "1500"
    assert state.read_timeout > 1.5
    state.receive(body_of("changes_continuous_timeout"))
    assert state.server_ended
    assert [c.id for c in state.take()] == recorded_ids("changes_continuous_timeout")
    assert state.finished


def test_an_unasked_end_of_feed_means_reconnect() -> None:
    state = FeedState(DB, {})
    state.receive(body_of("changes_continuous_timeout"))
    assert state.server_ended and not state.finished
    state.disconnected()
    assert not state.server_ended


def test_limit_is_kept_by_the_client() -> None:
    # pouchdb-server ignores limit on continuous feeds: corduroy counts for itself
    state = FeedState(DB, {"since": 0, "limit": 2})
    assert query(state)["limit"] == "2"
    state.receive(body_of("changes_continuous_heartbeat"))
    assert len(state.queue) == 2
    assert state.finished
    assert [c.id for c in state.take()] == recorded_ids("changes_continuous_heartbeat")[:2]


def test_limit_counts_across_reconnects() -> None:
    state = FeedState(DB, {"limit": 3})
    lines = body_of("changes_continuous_heartbeat").splitlines(keepends=True)
    state.receive(lines[0])
    state.take()
    state.disconnected()
    assert query(state)["limit"] == "2"


def test_include_docs_and_limit_from_couchdb3() -> None:
    state = FeedState(DB, {"since": 0, "include_docs": True, "limit": 2})
    state.receive(body_of("changes_continuous_include_docs_limit"))
    changes = state.take()
    assert [c.doc["_id"] for c in changes] == [c.id for c in changes]
    assert state.finished


def test_reconnect_resumes_from_the_last_seq_received() -> None:
    state = FeedState(DB, {"since": 0})
    lines = body_of("changes_continuous_heartbeat").splitlines(keepends=True)
    state.receive(b"".join(lines[:3]))
    state.receive(lines[3][:20])  # a partial line, then the connection drops
    state.disconnected()
    third = json.loads(lines[2])
    assert query(state)["since"] == third["seq"]
    state.receive(lines[3])  # the next connection sends the 4th change whole
    assert [c.id for c in state.take()] == [json.loads(x)["id"] for x in lines[:4]]


def test_changes_replayed_after_a_reconnect_are_dropped() -> None:
    state = FeedState(DB, {})
    lines = body_of("changes_continuous_heartbeat").splitlines(keepends=True)
    state.receive(b"".join(lines[:3]))
    delivered = state.take()
    state.disconnected()
    # a cluster may rewind a shard and send old rows again, with new seqs
    replay = [json.loads(x) for x in lines[1:5]]
    for row in replay:
        row["seq"] = "replayed-" + row["seq"]
    state.receive(b"".join(json.dumps(row).encode() + b"\n" for row in replay))
    fresh = state.take()
    assert [c.id for c in fresh] == [json.loads(x)["id"] for x in lines[3:5]]
    assert len({c.id for c in delivered + fresh}) == len(delivered + fresh)


def test_a_new_revision_of_a_delivered_doc_is_not_a_replay() -> None:
    state = FeedState(DB, {})
    state.receive(b'{"seq":"1-a","id":"x","changes":[{"rev":"1-a"}]}\n')
    state.take()
    state.disconnected()
    state.receive(b'{"seq":"2-b","id":"x","changes":[{"rev":"2-b"}]}\n')
    assert [c.changes[0].rev for c in state.take()] == ["2-b"]


def test_discard_rewinds_to_the_last_delivered_seq() -> None:
    state = FeedState(DB, {"since": "start"})
    state.receive(b'{"seq":"s1","id":"a","changes":[{"rev":"1-a"}]}\n')
    state.take()
    state.receive(b'{"seq":"s2","id":"b","changes":[{"rev":"1-b"}]}\n')
    assert query(state)["since"] == "s2"
    state.discard()
    assert state.queue == []
    assert query(state)["since"] == "s1"
    state.disconnected()
    state.receive(b'{"seq":"s2","id":"b","changes":[{"rev":"1-b"}]}\n')
    assert [c.id for c in state.take()] == ["b"]  # not mistaken for a replay


def test_take_some() -> None:
    state = FeedState(DB, {})
    state.receive(body_of("changes_continuous_heartbeat"))
    first = state.take(1)
    assert len(first) == 1 and state.delivered_seq == first[0].seq
    assert len(state.take(2)) == 2


def test_rows_without_seq_keep_the_last_seq() -> None:
    state = FeedState(DB, {"seq_interval": 2})
    state.receive(b'{"seq":"s1","id":"a","changes":[{"rev":"1-a"}]}\n')
    state.receive(b'{"seq":null,"id":"b","changes":[{"rev":"1-b"}]}\n')
    state.take()
    assert state.delivered_seq == "s1" and query(state)["since"] == "s1"


@pytest.mark.parametrize(
    "exc",
    [
        Unauthorized(401, "unauthorized"),
        Forbidden(403, "forbidden"),
        NotFound(404, "not_found", "Database does not exist."),
        BadRequest(400, "bad_request", "Malformed sequence"),
    ],
)
def test_client_errors_are_terminal(exc: Exception) -> None:
    state = FeedState(DB, {})
    with pytest.raises(type(exc)):
        state.failed(exc)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionDropped("reset"),
        Timeout("watchdog"),
        ServerError(503, "unavailable"),
        TooManyRequests(429, "slow down"),
    ],
)
def test_transient_errors_back_off_with_jitter(exc: Exception) -> None:
    state = FeedState(DB, {}, rng=random.Random(7))
    delays = [state.failed(exc) for _ in range(12)]
    base = FeedState.BACKOFF_BASE
    for attempt, delay in enumerate(delays):
        cap = min(FeedState.BACKOFF_MAX, base * 2**attempt)
        assert cap / 2 <= delay <= cap
    assert delays[-1] > delays[0]
    state.connected()
    assert state.failed(exc) <= base


def test_jitter_differs_between_feeds() -> None:
    a = FeedState(DB, {}, rng=random.Random(1))
    b = FeedState(DB, {}, rng=random.Random(2))
    err = ConnectionDropped("x")
    assert [a.failed(err) for _ in range(3)] != [b.failed(err) for _ in range(3)]


def test_line_splitter_tolerates_crlf_commas_and_blank_lines() -> None:
    splitter = LineSplitter()
    out: list[Any] = []
    for piece in [b'\n{"a":1},\r\n\n{"b"', b":2}\r", b"\n\n"]:
        out += splitter.feed(piece)
    assert out == [{"a": 1}, {"b": 2}]


def _lines(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(json.dumps(row).encode() + b"\n" for row in rows)


def test_changes_replayed_after_a_node_failure_are_handed_out_once() -> None:
    # recorded on a 3-node CouchDB 3.4.3: the feed read through node 3, node 3 was
    # killed, and resuming from the last seq through node 1 sent wdoc1 and lastdoc again
    before = recorded("cluster")["changes_all_up_via_node3"]["response"]["body"]
    after = recorded("cluster")["changes_since_pre_kill_seq_node3_down"]["response"]["body"]
    state = FeedState(DB, {})
    state.receive(_lines(before["results"]))
    delivered = state.take()
    state.failed(ConnectionDropped("node 3 died"))
    assert query(state)["since"] == before["results"][-1]["seq"]
    state.receive(_lines(after["results"]))
    delivered += state.take()
    pairs = [(c.id, c.changes[0]["rev"]) for c in delivered]
    assert len(pairs) == len(set(pairs))  # no (id, rev) twice
    everything = {(r["id"], r["changes"][0]["rev"]) for r in before["results"] + after["results"]}
    assert set(pairs) == everything  # and none lost
    assert query(state)["since"] == after["results"][-1]["seq"]


def test_a_repeated_rev_is_dropped_even_without_a_reconnect() -> None:
    state = FeedState(DB, {"style": "all_docs"})
    state.receive(b'{"seq":"1-a","id":"x","changes":[{"rev":"2-b"},{"rev":"2-c"}]}\n')
    state.receive(b'{"seq":"2-a","id":"x","changes":[{"rev":"2-b"}]}\n')
    state.receive(b'{"seq":"3-a","id":"x","changes":[{"rev":"2-c"},{"rev":"3-d"}]}\n')
    delivered = state.take()
    assert [[c["rev"] for c in row.changes] for row in delivered] == [["2-b", "2-c"], ["3-d"]]


def test_the_memory_of_delivered_revs_is_bounded() -> None:
    state = FeedState(DB, {})
    state.RECENT = 10
    state.receive(
        _lines([{"seq": f"{i}-s", "id": f"d{i}", "changes": [{"rev": "1-a"}]} for i in range(50)])
    )
    assert len(state.take()) == 50
    assert len(state._recent) == 10
