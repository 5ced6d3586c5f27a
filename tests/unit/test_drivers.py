"""The drivers and the three calling conventions, with a fake connection (no network)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any

import pytest

from corduroy import (
    Conflict,
    ConnectError,
    InvalidInput,
    NotFound,
    RequestReplica,
    ServerError,
    Status,
)
from corduroy.drivers import Streamed, dispatch, in_running_loop, run_async, run_blocking
from corduroy.http.messages import Headers, Request, Response
from corduroy.ops import documents as ops
from corduroy.ops.base import Op, json_request

pytestmark = pytest.mark.timeout(30)

BASE = "http://127.0.0.1:5984/"


def reply(status: int, body: bytes = b"", **headers: str) -> Response:
    pairs = [
        ("Content-Type", "application/json"),
        *((k.replace("_", "-"), v) for k, v in headers.items()),
    ]
    return Response(status, Headers(pairs), body)


class FakeConnection:
    """Answers ``(method, target)`` from a dict; records what it was sent and on which thread."""

    def __init__(self, answers: dict[tuple[str, str], Response | Exception]) -> None:
        self.answers = answers
        self.sent: list[Request] = []
        self.threads: list[int] = []

    def _answer(self, request: Request) -> Response:
        self.sent.append(request)
        self.threads.append(threading.get_ident())
        answer = self.answers[(request.method, request.target)]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def send(self, request: Request) -> Response:
        return self._answer(request)

    async def send_async(self, request: Request) -> Response:
        await asyncio.sleep(0)  # answer later, like a network would
        return self._answer(request)

    def url_for(self, request: Request) -> str:
        return BASE + request.target.lstrip("/")


DOC = b'{"_id":"a","_rev":"1-x","n":1}'


@pytest.fixture
def conn() -> FakeConnection:
    return FakeConnection(
        {
            ("GET", "/db/a"): reply(200, DOC, ETag='"1-x"'),
            ("GET", "/db/missing"): reply(404, b'{"error":"not_found","reason":"missing"}'),
            ("HEAD", "/db/missing"): reply(404),
            ("PUT", "/db/a"): reply(
                409, b'{"error":"conflict","reason":"Document update conflict."}'
            ),
            ("GET", "/db/boom"): reply(500, b'{"error":"oops","reason":"it broke"}'),
            ("GET", "/down/a"): ConnectError(
                "connection refused", method="GET", url=BASE + "down/a"
            ),
        }
    )


REF = ops.DbRef("db")


def run(conn: FakeConnection, convention: str, make: Callable[[], Op[Any]]) -> Any:
    """Run an op in one convention; return its data or raise its error."""
    if convention == "blocking":
        return dispatch(make(), conn)  # type: ignore[arg-type]

    async def main() -> Any:
        if convention == "await":
            return await dispatch(make(), conn)  # type: ignore[arg-type]
        loop = asyncio.get_running_loop()
        got: asyncio.Future[tuple[Any, Status]] = loop.create_future()
        replica = dispatch(make(), conn, lambda d, s: got.set_result((d, s)))  # type: ignore[arg-type]
        assert isinstance(replica, RequestReplica)
        data, status = await got
        if not status.ok:
            assert status.exception is not None
            raise status.exception
        return data

    return asyncio.run(main())


CONVENTIONS = ["blocking", "await", "callback"]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_result_in_every_convention(conn: FakeConnection, convention: str) -> None:
    doc = run(conn, convention, lambda: ops.get_doc(REF, "a"))
    assert doc == {"_id": "a", "_rev": "1-x", "n": 1}
    assert conn.sent[0].method == "GET"


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_an_error_status_in_every_convention(conn: FakeConnection, convention: str) -> None:
    with pytest.raises(NotFound) as info:
        run(conn, convention, lambda: ops.get_doc(REF, "missing"))
    assert info.value.reason == "missing"
    assert info.value.method == "GET" and info.value.url == BASE + "db/missing"


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_the_op_catches_an_expected_error(conn: FakeConnection, convention: str) -> None:
    assert run(conn, convention, lambda: ops.doc_rev(REF, "missing")) is None


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_transport_error_is_thrown_into_the_op(conn: FakeConnection, convention: str) -> None:
    seen: list[BaseException] = []

    def op() -> Op[str]:
        try:
            yield Request("GET", "/down/a")
        except ConnectError as exc:
            seen.append(exc)
            raise
        return "unreachable"

    with pytest.raises(ConnectError):
        run(conn, convention, op)
    assert len(seen) == 1


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_multi_request_op(conn: FakeConnection, convention: str) -> None:
    def op() -> Op[tuple[Any, Any]]:
        first = yield Request("GET", "/db/a")
        try:
            yield Request("GET", "/db/missing")
        except NotFound as exc:
            return first.json()["n"], exc.reason
        raise AssertionError("not reached")

    assert run(conn, convention, op) == (1, "missing")
    assert [r.target for r in conn.sent] == ["/db/a", "/db/missing"]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_the_op_is_closed_when_the_call_fails(conn: FakeConnection, convention: str) -> None:
    closed: list[bool] = []

    def op() -> Op[None]:
        try:
            yield Request("GET", "/db/boom")
        finally:
            closed.append(True)

    with pytest.raises(ServerError):
        run(conn, convention, op)
    assert closed == [True]


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def read(self, n: int = -1) -> bytes:
        data, self.data = self.data, b""
        return data


class _AsyncBody(_Body):
    async def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        return _Body.read(self, n)


def test_an_error_body_left_on_the_wire_is_read(conn: FakeConnection) -> None:
    body = b'{"error":"not_found","reason":"no view"}'
    conn.answers[("GET", "/db/v")] = Response(404, Headers(), b"", _Body(body))
    with pytest.raises(NotFound, match="no view"):
        run_blocking(ops.get_doc(REF, "v"), conn)  # type: ignore[arg-type]
    conn.answers[("GET", "/db/v")] = Response(404, Headers(), b"", _AsyncBody(body))
    with pytest.raises(NotFound, match="no view"):
        asyncio.run(run_async(ops.get_doc(REF, "v"), conn))  # type: ignore[arg-type]


# -- the conventions are picked by the call ------------------------------------------


def test_no_loop_blocks(conn: FakeConnection) -> None:
    assert not in_running_loop()
    assert dispatch(ops.get_doc(REF, "a"), conn)["n"] == 1  # type: ignore[arg-type]
    assert conn.threads == [threading.get_ident()]


def test_inside_a_running_loop_returns_an_awaitable(conn: FakeConnection) -> None:
    async def main() -> None:
        assert in_running_loop()
        pending = dispatch(ops.get_doc(REF, "a"), conn)  # type: ignore[arg-type]
        assert asyncio.iscoroutine(pending)
        assert conn.sent == []  # nothing happens until it is awaited
        assert (await pending)["n"] == 1

    asyncio.run(main())


def test_callback_returns_a_replica_at_once_and_delivers_on_the_loop_thread(
    conn: FakeConnection,
) -> None:
    calls: list[tuple[Any, Status, int]] = []

    async def main() -> RequestReplica:
        replica = dispatch(  # type: ignore[arg-type]
            ops.get_doc(REF, "a"), conn, lambda d, s: calls.append((d, s, threading.get_ident()))
        )
        assert isinstance(replica, RequestReplica)
        assert calls == [] and not replica.done
        await replica  # waits until the callback has run
        assert replica.done
        return replica

    replica = asyncio.run(main())
    ((data, status, thread),) = calls
    assert thread == threading.get_ident()
    assert data["n"] == 1 and data.n == 1
    assert status.ok and status.code == 200
    assert status.exception is None and status.error is None
    assert status.headers["etag"] == '"1-x"'
    assert status.body == {"_id": "a", "_rev": "1-x", "n": 1}
    assert (replica.method, replica.url, replica.body) == ("GET", BASE + "db/a", None)
    assert repr(replica) == f"<Request GET {BASE}db/a>"


def test_callback_status_of_a_failure(conn: FakeConnection) -> None:
    calls: list[tuple[Any, Status]] = []

    async def main() -> None:
        await dispatch(  # type: ignore[arg-type]
            ops.get_doc(REF, "missing"), conn, lambda d, s: calls.append((d, s))
        )

    asyncio.run(main())
    ((data, status),) = calls
    assert not status.ok and status.code == 404
    assert status.error is NotFound
    assert isinstance(status.exception, NotFound) and status.exception.reason == "missing"
    assert data is None and status.body == {"error": "not_found", "reason": "missing"}
    assert status.headers["content-type"] == "application/json"


def test_callback_status_when_nothing_answered(conn: FakeConnection) -> None:
    calls: list[tuple[Any, Status]] = []

    def op() -> Op[None]:
        yield Request("GET", "/down/a")

    async def main() -> None:
        await dispatch(op(), conn, lambda d, s: calls.append((d, s)))  # type: ignore[arg-type]

    asyncio.run(main())
    ((data, status),) = calls
    assert data is None and not status.ok
    assert status.code == 0 and status.error is ConnectError


def test_replica_redacts_secrets_and_keeps_the_body(conn: FakeConnection) -> None:
    conn.answers[("POST", "/db/_bulk_docs")] = reply(201, b"[]")

    def op() -> Op[Any]:
        response = yield json_request(
            "POST",
            "/db/_bulk_docs",
            {"docs": []},
            headers=(("Authorization", "Basic YWRtaW46c2VjcmV0"), ("Cookie", "AuthSession=xyz")),
        )
        return response.json()

    async def main() -> RequestReplica:
        replica = dispatch(op(), conn, lambda d, s: None)  # type: ignore[arg-type]
        await replica
        return replica

    replica = asyncio.run(main())
    assert replica.headers["Authorization"] == "<redacted>"
    assert replica.headers["cookie"] == "<redacted>"
    assert replica.headers["content-type"] == "application/json"
    assert replica.body == b'{"docs":[]}'
    assert "YWRtaW46c2VjcmV0" not in repr(replica) + str(dict(replica.headers))
    assert conn.sent[0].header("Authorization") == "Basic YWRtaW46c2VjcmV0"  # sent as given


def test_a_failing_callback_goes_to_the_loop_exception_handler(conn: FakeConnection) -> None:
    reported: list[dict[str, Any]] = []

    def bad_callback(data: Any, status: Status) -> None:
        raise ZeroDivisionError("user bug")

    async def main() -> Any:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, context: reported.append(context))
        replica = dispatch(ops.get_doc(REF, "a"), conn, bad_callback)  # type: ignore[arg-type]
        await replica  # still completes
        # the loop and the connection keep working
        return await dispatch(ops.get_doc(REF, "a"), conn)  # type: ignore[arg-type]

    assert asyncio.run(main())["n"] == 1
    assert len(reported) == 1
    assert isinstance(reported[0]["exception"], ZeroDivisionError)
    assert "callback" in reported[0]["message"]


def test_invalid_input_is_refused_at_the_call(conn: FakeConnection) -> None:
    calls: list[Any] = []

    async def main() -> None:
        with pytest.raises(InvalidInput):
            dispatch(ops.get_doc(REF, "a\nb"), conn, lambda d, s: calls.append(d))  # type: ignore[arg-type]
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert calls == [] and conn.sent == []


def test_callback_for_an_op_that_needs_no_request(conn: FakeConnection) -> None:
    calls: list[tuple[Any, Status]] = []

    async def main() -> None:
        replica = dispatch(ops.get_docs(REF, []), conn, lambda d, s: calls.append((d, s)))  # type: ignore[arg-type]
        await replica

    asyncio.run(main())
    ((data, status),) = calls
    assert data == [] and status.ok and conn.sent == []


def test_callback_before_the_loop_runs(conn: FakeConnection) -> None:
    """A Tornado app's set-up code calls with a callback before ``IOLoop.start()``."""
    from tornado.ioloop import IOLoop

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    ioloop = IOLoop.current()
    calls: list[tuple[Any, int]] = []
    try:
        replica = dispatch(  # type: ignore[arg-type]
            ops.get_doc(REF, "a"),
            conn,
            lambda d, s: (calls.append((d, threading.get_ident())), ioloop.stop()),
        )
        assert isinstance(replica, RequestReplica) and calls == [] and conn.sent == []
        ioloop.call_later(10, ioloop.stop)
        ioloop.start()
    finally:
        ioloop.close(all_fds=True)
        asyncio.set_event_loop(None)
    assert calls == [(calls[0][0], threading.get_ident())] and calls[0][0]["n"] == 1


def test_callback_in_a_thread_without_a_loop_is_a_clear_error(conn: FakeConnection) -> None:
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            dispatch(ops.get_doc(REF, "a"), conn, lambda d, s: None)  # type: ignore[arg-type]
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)
    assert "event loop" in str(errors[0])
    assert conn.sent == []


# -- Streamed results ----------------------------------------------------------------


class Rows(Streamed):
    def __init__(self, response: Response) -> None:
        self.response = response

    def finish_sync(self) -> Any:
        return ["sync", self.response.json()["n"]]

    async def finish_async(self) -> Any:
        await asyncio.sleep(0)
        return ["async", self.response.json()["n"]]


def streamed_op() -> Op[Rows]:
    response = yield Request("GET", "/db/a", stream=False)
    return Rows(response)


@pytest.mark.parametrize(
    ("convention", "expected"),
    [("blocking", ["sync", 1]), ("await", ["async", 1]), ("callback", ["async", 1])],
)
def test_streamed_results_are_finished_by_the_driver(
    conn: FakeConnection, convention: str, expected: list[Any]
) -> None:
    assert run(conn, convention, streamed_op) == expected


def test_a_failing_finish_is_the_call_failure(conn: FakeConnection) -> None:
    class Broken(Streamed):
        def finish_sync(self) -> Any:
            raise Conflict(409, "conflict", "while streaming")

        async def finish_async(self) -> Any:
            raise Conflict(409, "conflict", "while streaming")

    def op() -> Op[Broken]:
        yield Request("GET", "/db/a")
        return Broken()

    for convention in CONVENTIONS:
        with pytest.raises(Conflict, match="while streaming"):
            run(conn, convention, op)


# -- Database iteration pages through _all_docs --------------------------------------


@pytest.mark.parametrize("count", [0, 1, 2, 3, 4, 5, 7])
def test_iterating_a_database_pages_by_startkey(count: int, monkeypatch: Any) -> None:
    import json
    from urllib.parse import parse_qs

    from corduroy import Couch

    ids = [f"dóc/{i}" for i in range(count)]
    seen: list[dict[str, list[str]]] = []

    class AllDocs(FakeConnection):
        def send(self, request: Request) -> Response:
            assert (request.method, request.path) == ("GET", "/db/_all_docs")
            query = parse_qs(request.query)
            seen.append(query)
            start = json.loads(query["startkey"][0]) if "startkey" in query else None
            rows = [i for i in ids if start is None or i >= start][: int(query["limit"][0])]
            body = {"total_rows": count, "rows": [{"id": i, "key": i} for i in rows]}
            return reply(200, json.dumps(body).encode())

    db = Couch("http://127.0.0.1:1/")["db"]
    monkeypatch.setattr(db.couch, "_conn", AllDocs({}))
    assert list(db._iter_ids(page=2)) == ids
    assert len(seen) == max(1, -(-count // 2))  # no extra request at an exact multiple
    assert all(q["limit"] == ["3"] for q in seen)


def test_every_public_call_names_itself() -> None:
    """A forgotten ``await`` and a callback call that never ran are reported under the name
    each public method hands to ``dispatch`` (no stack inspection): it must be its own."""
    import inspect

    from corduroy import Couch, Database, Partition
    from corduroy.conflicts import ConflictResolution
    from corduroy.replication import ReplicationStatus

    for cls in (Couch, Database, Partition, ConflictResolution, ReplicationStatus):
        for name, member in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_") or "callback" not in inspect.signature(member).parameters:
                continue
            source = inspect.getsource(member)
            if "_run(" in source or "dispatch(" in source:
                assert f'"{cls.__name__}.{name}"' in source, f"{cls.__name__}.{name}"


def test_aio_marker_is_no_callback(conn: FakeConnection) -> None:
    from corduroy.drivers import AWAITING, callback_given

    assert not callback_given(AWAITING) and not callback_given(None)
    assert callback_given(lambda data, status: None)

    async def main() -> Any:
        return await dispatch(ops.get_doc(REF, "a"), conn, AWAITING)  # type: ignore[arg-type]

    assert asyncio.run(main())["n"] == 1


def test_a_forgotten_await_is_named_by_the_call(conn: FakeConnection) -> None:
    async def main() -> str:
        coro = dispatch(ops.get_doc(REF, "a"), conn, None, "Database.get")  # type: ignore[arg-type]
        name: str = coro.__qualname__
        coro.close()
        return name

    assert asyncio.run(main()) == "Database.get"
