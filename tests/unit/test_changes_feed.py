"""ChangesFeed, follow() and the continuous iterators against a scripted connection (no network).

Each ``_changes`` request takes the next script: an HTTP error status, or a list of body
chunks and exceptions (raised by the read that reaches them). When a script runs out,
an asyncio read waits forever (a quiet live feed) and a blocking read sees the end of
the body.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any
from urllib.parse import parse_qsl

import pytest

from corduroy import ChangesFeed, Couch, Database
from corduroy.errors import ConnectionDropped, NotFound, Unauthorized
from corduroy.http.messages import Headers, Request, Response


def line(n: int, docid: str | None = None, rev: str = "1-a") -> bytes:
    row = {"seq": f"{n}-opaque", "id": docid or f"d{n}", "changes": [{"rev": rev}]}
    return json.dumps(row).encode() + b"\n"


class Stream:
    def __init__(self, items: list[Any]) -> None:
        self.items = list(items)
        self.closed = False

    def _next(self) -> bytes | None:
        if self.closed:
            return b""
        if not self.items:
            return None
        item = self.items.pop(0)
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, bytes)
        return item

    def read(self, n: int = -1) -> bytes:
        return self._next() or b""

    def close(self) -> None:
        self.closed = True

    async def aread(self, n: int = -1) -> bytes:
        data = self._next()
        if data is None:
            await asyncio.Event().wait()  # a quiet feed: only heartbeats, until cancelled
        return data or b""

    async def aclose(self) -> None:
        self.closed = True


class AsyncStream(Stream):
    async def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        return await self.aread(n)


class FakeConn:
    """Answers ``_changes`` from scripts and ``_local`` docs from a dict."""

    def __init__(self, scripts: list[Any]) -> None:
        self.scripts = list(scripts)
        self.requests: list[Request] = []
        self.streams: list[Stream] = []
        self.local: dict[str, dict[str, Any]] = {}

    def url_for(self, request: Request) -> str:
        return "http://127.0.0.1:9" + request.target

    def _answer(self, request: Request, stream_class: type[Stream]) -> Response:
        self.requests.append(request)
        if "/_local/" in request.path:
            return self._local(request)
        assert request.path.endswith("/_changes"), request
        script = self.scripts.pop(0) if self.scripts else []
        if isinstance(script, int):
            body = json.dumps({"error": "x", "reason": "scripted"}).encode()
            return Response(script, Headers(), b"", stream_class([body]))
        stream = stream_class(script)
        self.streams.append(stream)
        return Response(200, Headers(), b"", stream)

    def _local(self, request: Request) -> Response:
        key = request.path.rsplit("/", 1)[1]
        if request.method == "GET":
            if key not in self.local:
                return Response(404, Headers(), b'{"error":"not_found","reason":"missing"}')
            return Response(200, Headers(), json.dumps(self.local[key]).encode())
        assert request.body is not None
        doc = json.loads(request.body)
        rev = f"0-{int(self.local.get(key, {}).get('_rev', '0-0')[2:]) + 1}"
        self.local[key] = {**doc, "_rev": rev}
        return Response(201, Headers(), json.dumps({"ok": True, "rev": rev}).encode())

    def send(self, request: Request) -> Response:
        return self._answer(request, Stream)

    async def send_async(self, request: Request) -> Response:
        await asyncio.sleep(0)
        return self._answer(request, AsyncStream)

    def since_of(self, index: int) -> str | None:
        changes = [r for r in self.requests if r.path.endswith("/_changes")]
        return dict(parse_qsl(changes[index].query)).get("since")


def database(conn: FakeConn) -> Database:
    couch = Couch("http://127.0.0.1:9/")
    couch._conn = conn  # type: ignore[assignment]
    return couch["db"]


async def settle(feed: ChangesFeed, until: Any, rounds: int = 10_000) -> None:
    """Let the loop run until ``until()`` (backoff sleeps take real, if short, time)."""
    for _ in range(rounds):
        if until():
            return
        await asyncio.sleep(0.001)
    raise AssertionError(f"condition not reached; {feed!r} error={feed.error!r}")


def test_listener_gets_every_change_in_order_then_stop_leaves_nothing() -> None:
    conn = FakeConn([[line(1), line(2) + line(3)]])
    got: list[tuple[Any, list[str]]] = []

    async def main() -> None:
        feed = database(conn).changes(
            feed="continuous",
            since=0,
            latency=0,
            callback=lambda seq, changes: got.append((seq, [c.id for c in changes])),
        )
        assert isinstance(feed, ChangesFeed) and feed.running
        await settle(feed, lambda: len(got) == 2)
        feed.stop()
        await feed.wait()
        assert not feed.running and feed.error is None
        assert conn.streams[0].closed
        assert asyncio.all_tasks() == {asyncio.current_task()}

    asyncio.run(main())
    assert got == [("1-opaque", ["d1"]), ("3-opaque", ["d2", "d3"])]


def test_dropped_connection_resumes_from_the_last_seq_without_duplicates() -> None:
    conn = FakeConn(
        [
            [line(1), line(2), ConnectionDropped("reset by peer")],
            503,
            [line(2), line(3)],  # a replay of d2, then d3
        ]
    )
    ids: list[str] = []

    async def main() -> None:
        feed = database(conn).changes(
            feed="continuous",
            latency=0,
            callback=lambda seq, changes: ids.extend(c.id for c in changes),
        )
        await settle(feed, lambda: len(ids) >= 3)
        feed.stop()
        await feed.wait()

    asyncio.run(main())
    assert ids == ["d1", "d2", "d3"]
    assert conn.since_of(1) == "2-opaque"
    assert conn.since_of(2) == "2-opaque"


@pytest.mark.parametrize(("status", "error"), [(401, Unauthorized), (404, NotFound)])
def test_terminal_errors_stop_the_feed_and_reach_on_error(status: int, error: type) -> None:
    conn = FakeConn([[line(1), ConnectionDropped("db deleted")], status])
    errors: list[BaseException] = []
    ids: list[str] = []

    async def main() -> ChangesFeed:
        feed = database(conn).changes(
            feed="continuous",
            latency=0,
            on_error=errors.append,
            callback=lambda seq, changes: ids.extend(c.id for c in changes),
        )
        await feed.wait()
        return feed

    feed = asyncio.run(main())
    assert ids == ["d1"]
    assert isinstance(feed.error, error) and errors == [feed.error]
    assert not feed.running


def test_latency_holds_back_a_batch_and_stop_drops_it_for_listen_to_fetch_again() -> None:
    conn = FakeConn([[line(1), line(2)], [line(2)]])
    got: list[list[str]] = []

    async def main() -> None:
        feed = database(conn).changes(
            feed="continuous",
            latency=3600,
            callback=lambda seq, changes: got.append([c.id for c in changes]),
        )
        await settle(feed, lambda: bool(conn.streams) and not conn.streams[0].items)
        for _ in range(20):
            await asyncio.sleep(0)
        assert got == [["d1"]]  # d2 waits for the latency to pass
        feed.stop()
        await feed.wait()
        assert feed.last_seq == "1-opaque"
        feed.listen()
        await settle(feed, lambda: len(conn.streams) == 2)
        feed.stop()
        await feed.wait()

    asyncio.run(main())
    assert conn.since_of(1) == "1-opaque"


def test_stop_from_another_thread() -> None:
    conn = FakeConn([[line(1)]])

    async def main() -> None:
        seen = asyncio.Event()
        feed = database(conn).changes(
            feed="continuous", latency=0, callback=lambda seq, changes: seen.set()
        )
        await seen.wait()
        stopper = threading.Thread(target=feed.stop)
        stopper.start()
        await feed.wait()
        stopper.join()
        assert not feed.running

    asyncio.run(main())


def test_feed_made_before_its_loop_runs_starts_with_it() -> None:
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    conn = FakeConn([[line(1), line(2)]])
    ids: list[str] = []
    try:
        feed = database(conn).changes(
            feed="continuous",
            latency=0,
            callback=None
            or (
                lambda seq, changes: (
                    ids.extend(c.id for c in changes),
                    len(ids) == 2 and feed.stop(),
                )
            ),
        )
        assert conn.requests == []  # nothing happens until the loop runs
        feed.run()
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    assert ids == ["d1", "d2"]


def test_follow_checkpoints_and_a_new_follower_resumes() -> None:
    conn = FakeConn([[line(1), line(2), line(3)], [line(4)]])
    handled: list[str] = []

    async def main() -> None:
        db = database(conn)
        follower = db.follow(lambda change: handled.append(change.id), "indexer", every=2)
        await settle(follower, lambda: len(handled) == 3)
        assert conn.local["indexer"]["seq"] == "2-opaque"  # saved every 2 changes
        follower.stop()
        await follower.wait()
        assert conn.local["indexer"]["seq"] == "3-opaque"  # and on stop

        async def slow(change: Any) -> None:
            await asyncio.sleep(0)
            handled.append(change.id)

        again = db.follow(slow, "indexer")
        await settle(again, lambda: len(handled) == 4)
        again.stop()
        await again.wait()

    asyncio.run(main())
    assert handled == ["d1", "d2", "d3", "d4"]
    assert conn.since_of(1) == "3-opaque"


def test_a_failing_handler_stops_the_follower_before_its_change() -> None:
    conn = FakeConn([[line(1), line(2), line(3)]])

    def handler(change: Any) -> None:
        if change.id == "d2":
            raise ValueError("cannot index d2")

    async def main() -> ChangesFeed:
        follower = database(conn).follow(handler, "ix", every=100, on_error=lambda exc: None)
        await follower.wait()
        return follower

    follower = asyncio.run(main())
    assert isinstance(follower.error, ValueError)
    assert conn.local["ix"]["seq"] == "1-opaque"  # d2 will be handled again


def test_blocking_iteration_reconnects_and_break_closes() -> None:
    conn = FakeConn([[line(1), ConnectionDropped("reset")], [line(1), line(2)], [line(3)]])
    feed = database(conn).changes(feed="continuous")
    ids = []
    for change in feed:
        ids.append(change.id)
        if change.id == "d3":
            break
    assert ids == ["d1", "d2", "d3"]
    assert feed.last_seq == "3-opaque"
    assert conn.since_of(1) == "1-opaque"
    assert all(stream.closed for stream in conn.streams)


def test_blocking_iteration_raises_terminal_errors() -> None:
    conn = FakeConn([403])
    with pytest.raises(Exception, match="403"):
        list(database(conn).changes(feed="continuous"))


def test_blocking_iteration_ends_at_the_limit() -> None:
    conn = FakeConn([[line(1), line(2), line(3)]])
    assert [c.id for c in database(conn).changes(feed="continuous", limit=2)] == ["d1", "d2"]


def test_async_iteration() -> None:
    conn = FakeConn([[line(1), ConnectionDropped("x")], [line(2)]])

    async def main() -> list[str]:
        ids = []
        feed = database(conn).changes(feed="continuous")
        with pytest.raises(RuntimeError):
            iter(feed)  # blocking iteration would freeze the loop
        async with feed:
            async for change in feed:
                ids.append(change.id)
                if len(ids) == 2:
                    break
        return ids

    assert asyncio.run(main()) == ["d1", "d2"]
    assert all(stream.closed for stream in conn.streams)
