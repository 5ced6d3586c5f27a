"""Cluster policy (corduroy.cluster) and Connection failover, with fake nodes (no network)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from corduroy import Couch
from corduroy.cluster import NodeSet, can_fail_over, root_verdict, up_verdict
from corduroy.connection import Connection, ServerUrl
from corduroy.errors import ConnectError, ConnectionDropped, Timeout
from corduroy.http.messages import Headers, Request, Response


def answer(status: int, body: Any) -> Response:
    return Response(
        status, Headers([("Content-Type", "application/json")]), json.dumps(body).encode()
    )


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def urls(n: int) -> list[ServerUrl]:
    return [ServerUrl(f"http://node{i}:5984/") for i in range(1, n + 1)]


# -- verdicts from recorded and pouchdb-server answers ------------------------------------------


def test_up_verdicts():
    assert up_verdict(answer(200, {"status": "ok", "seeds": {}})) is True  # CouchDB 3.4 /_up
    assert up_verdict(answer(404, {"status": "maintenance_mode"})) is False
    assert (
        up_verdict(answer(404, {"error": "not_found", "reason": "no_db_file"})) is None
    )  # pouchdb
    assert up_verdict(answer(503, {"status": "nolb"})) is False
    assert up_verdict(answer(401, {"error": "unauthorized"})) is True
    assert root_verdict(answer(200, {"express-pouchdb": "Welcome!"})) is True
    assert root_verdict(answer(500, {})) is False


@pytest.mark.parametrize(
    ("request_", "error", "moves"),
    [
        (Request("GET", "/db/doc"), ConnectError("refused"), True),
        (Request("POST", "/db", body=b"{}"), ConnectError("refused"), True),
        (Request("POST", "/db", body=iter([b"{}"])), ConnectError("refused"), True),
        (Request("GET", "/db/doc"), ConnectionDropped("reset"), True),
        (Request("GET", "/db/doc"), Timeout("slow"), True),
        (Request("POST", "/db", body=b"{}"), ConnectionDropped("reset"), False),
        (Request("PUT", "/db/doc", body=b"{}"), Timeout("slow"), False),
        (Request("POST", "/db/_find", body=b"{}", idempotent=True), Timeout("slow"), True),
        (
            Request("POST", "/db/_bulk_get", body=iter([b"{}"]), idempotent=True),
            Timeout("x"),
            False,
        ),
        (Request("GET", "/db/doc"), ValueError("not a transport error"), False),
    ],
)
def test_which_failures_move_a_request_to_another_node(request_, error, moves):
    assert can_fail_over(request_, error) is moves


# -- NodeSet -----------------------------------------------------------------------------------


def test_the_first_healthy_node_is_used_and_a_down_one_is_skipped_until_its_probe_is_due():
    clock = Clock()
    nodes = NodeSet(urls(3), probe_interval=2.0, max_probe_interval=30.0, clock=clock)
    first, second, third = nodes.nodes
    assert [n for n, _ in nodes.plan()] == [first, second, third]
    nodes.mark_down(first, ConnectError("refused"))
    assert nodes.current() is second
    assert nodes.plan() == [(second, False), (third, False), (first, False)]
    clock.now += 2.0
    assert nodes.plan()[0] == (first, True)  # due: probe it, ahead of the others
    # a second caller meanwhile does not probe the same node
    assert nodes.plan() == [(second, False), (third, False), (first, False)]
    nodes.mark_up(first)
    assert nodes.current() is first


def test_probe_backoff_doubles_up_to_the_limit():
    clock = Clock()
    nodes = NodeSet(urls(2), probe_interval=2.0, max_probe_interval=5.0, clock=clock)
    node = nodes.nodes[0]
    waits = []
    for _ in range(4):
        nodes.mark_down(node, "down")
        waits.append(node.next_probe - clock.now)
    assert waits == [2.0, 4.0, 5.0, 5.0]
    nodes.mark_up(node)
    nodes.mark_down(node, "down")
    assert node.next_probe - clock.now == 2.0


def test_health_snapshot_has_no_credentials():
    nodes = NodeSet([ServerUrl("http://node1:5984/", "admin", "hunter2")])
    assert "hunter2" not in repr(nodes.health())
    assert nodes.health() == [{"url": "http://node1:5984/", "healthy": True, "failures": 0}]


# -- Connection failover with fake transports ------------------------------------------------


class FakeTransport:
    """A node: ``alive`` decides whether it answers; ``has_up`` whether it knows /_up."""

    def __init__(self, name: str, log: list[str], has_up: bool = True) -> None:
        self.name = name
        self.log = log
        self.alive = True
        self.has_up = has_up
        self.drop = False

    def send(self, request: Request) -> Response:
        self.log.append(f"{self.name} {request.method} {request.path}")
        if not self.alive:
            raise ConnectError("connection refused", method=request.method, url=self.name)
        if self.drop:
            raise ConnectionDropped("reset", method=request.method, url=self.name)
        if request.path == "/_up" and not self.has_up:
            return answer(404, {"error": "not_found", "reason": "no_db_file"})
        return answer(200, {"node": self.name})


class AsyncFake(FakeTransport):
    async def send(self, request: Request) -> Response:  # type: ignore[override]
        return FakeTransport.send(self, request)


def cluster(n: int, clock: Clock, kind: type[FakeTransport] = FakeTransport, has_up: bool = True):
    conn = Connection(urls(n), probe_interval=1.0)
    assert conn.nodes is not None
    conn.nodes.clock = clock
    log: list[str] = []
    fakes = []
    for i, node in enumerate(conn.nodes.nodes, 1):
        fake = kind(f"n{i}", log, has_up)
        fakes.append(fake)
        if kind is AsyncFake:
            node.async_ = node.probe_async = fake  # type: ignore[assignment]
        else:
            node.sync = node.probe_sync = fake  # type: ignore[assignment]
    return conn, fakes, log


def test_failover_then_back_to_the_first_node_when_it_recovers():
    clock = Clock()
    conn, (n1, _n2, _n3), log = cluster(3, clock)
    assert conn.send(Request("GET", "/db")).json() == {"node": "n1"}
    n1.alive = False
    assert conn.send(Request("GET", "/db")).json() == {"node": "n2"}
    assert conn.send(Request("GET", "/db")).json() == {"node": "n2"}  # n1 not retried yet
    assert log[-3:] == ["n1 GET /db", "n2 GET /db", "n2 GET /db"]
    assert conn.url_for(Request("GET", "/x")) == "http://node2:5984/x"
    clock.now += 1.0
    assert conn.send(Request("GET", "/db")).json() == {"node": "n2"}  # probe failed
    assert log[-2:] == ["n1 GET /_up", "n2 GET /db"]
    n1.alive = True
    clock.now += 2.0  # the interval doubled after the failed probe
    assert conn.send(Request("GET", "/db")).json() == {"node": "n1"}
    assert log[-2:] == ["n1 GET /_up", "n1 GET /db"]


def test_a_server_without_up_is_probed_with_get_root():
    clock = Clock()
    conn, (n1, _n2), log = cluster(2, clock, has_up=False)
    n1.alive = False
    conn.send(Request("GET", "/db"))
    n1.alive = True
    clock.now += 1.0
    assert conn.send(Request("GET", "/db")).json() == {"node": "n1"}
    assert log[-3:] == ["n1 GET /_up", "n1 GET /", "n1 GET /db"]


def test_a_write_moves_on_when_the_connection_could_not_open():
    conn, (n1, _n2), _log = cluster(2, Clock())
    n1.alive = False
    assert conn.send(Request("PUT", "/db/doc", body=b"{}")).json() == {"node": "n2"}


def test_a_write_whose_connection_dropped_is_not_repeated_elsewhere():
    conn, (n1, _n2), log = cluster(2, Clock())
    n1.drop = True
    with pytest.raises(ConnectionDropped):
        conn.send(Request("POST", "/db", body=b"{}"))
    assert log == ["n1 POST /db"]
    assert conn.nodes is not None and not conn.nodes.nodes[0].healthy  # but n1 is marked down
    assert conn.send(Request("POST", "/db", body=b"{}")).json() == {"node": "n2"}


def test_when_every_node_is_down_the_last_error_is_raised():
    conn, fakes, log = cluster(2, Clock())
    for fake in fakes:
        fake.alive = False
    with pytest.raises(ConnectError):
        conn.send(Request("GET", "/db"))
    with pytest.raises(ConnectError):  # all down, none due: tried anyway, in order
        conn.send(Request("GET", "/db"))
    assert log == ["n1 GET /db", "n2 GET /db", "n1 GET /db", "n2 GET /db"]


def test_async_failover_and_recovery():
    clock = Clock()
    conn, (n1, _n2), log = cluster(2, clock, AsyncFake)

    async def main() -> list[str]:
        seen = []
        n1.alive = False
        seen.append((await conn.send_async(Request("GET", "/db"))).json()["node"])
        n1.alive = True
        clock.now += 1.0
        seen.append((await conn.send_async(Request("GET", "/db"))).json()["node"])
        return seen

    assert asyncio.run(main()) == ["n2", "n1"]
    assert log == ["n1 GET /db", "n2 GET /db", "n1 GET /_up", "n1 GET /db"]


def test_couch_takes_a_list_of_node_urls():
    couch = Couch(["http://admin:pw@node1:5984", "http://node2:5984/", "node3:5984"])
    assert couch.url == "http://node1:5984/"
    assert couch._conn.nodes is not None
    assert [n.base for n in couch._conn.nodes.nodes] == [
        "http://node1:5984/",
        "http://node2:5984/",
        "http://node3:5984/",
    ]
    assert couch._conn.username == "admin"  # the credentials apply to every node
    assert Couch("http://node1:5984")._conn.nodes is None


def test_cluster_nodes_leave_unreachable_nodes_to_failover_but_retry_busy_answers():
    from corduroy.http.retry import Failure, RetryPolicy

    policy = Couch(["http://node1:5984/", "http://node2:5984/"])._conn.config.retry
    get = Request("GET", "/db")
    assert policy.after_failure(get, Failure.CONNECT, 1, 0.0) is None
    assert policy.after_status(get, 503, "1", 1, 0.0) == 1.0
    single = Couch("http://node1:5984/")._conn.config.retry
    assert isinstance(single, RetryPolicy)
    assert single.after_failure(get, Failure.CONNECT, 1, 0.0) is not None


def test_a_dead_node_is_logged_down_once_and_back_once(caplog):
    import logging

    caplog.set_level(logging.DEBUG, logger="corduroy.cluster")
    clock = Clock()
    conn, (n1, _n2, _n3), _log = cluster(3, clock)
    n1.alive = False
    for _ in range(6):  # each later call finds its probe due and failing
        assert conn.send(Request("GET", "/db/doc")).status == 200
        clock.now += 60
    node1 = conn.nodes.nodes[0]
    for _ in range(2):  # requests already on their way when it went down fail there too
        conn.nodes._failed(node1, Request("GET", "/db"), ConnectError("refused"))
    n1.alive = True
    clock.now += 60
    assert conn.send(Request("GET", "/db/doc")).status == 200
    records = [r for r in caplog.records if r.name == "corduroy.cluster"]
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    infos = [r.getMessage() for r in records if r.levelno == logging.INFO]
    assert len(warnings) == 1 and "node1" in warnings[0] and "is down" in warnings[0]
    assert len(infos) == 1 and "node1" in infos[0] and "is back" in infos[0]
    assert "3 request(s) failed" in infos[0]
    debug = [r.getMessage() for r in records if r.levelno == logging.DEBUG]
    assert any("3 request(s) failed on it so far" in line for line in debug)
    assert any("health check failed" in line for line in debug)


def test_recorded_answers_of_a_cluster_with_a_node_down():
    from core_recorded import error_of, recorded, response_of

    from corduroy.errors import PreconditionFailed

    cluster_answers = recorded("cluster")
    # the live nodes stay healthy for their probes while node 3 is dead
    for name in ("up_node1_node3_down", "up_node2_node3_down"):
        assert up_verdict(response_of(cluster_answers[name])) is True
    # asking a live node about the dead one is a 412 nodedown, not a transport failure
    # (so it never marks the live node down)
    exchange = cluster_answers["node3_config_via_node1_down"]
    error = error_of(Request("GET", exchange["request"]["path"]), exchange)
    assert isinstance(error, PreconditionFailed) and error.error == "nodedown"
    assert not can_fail_over(Request("GET", "/_node/couchdb3@127.0.0.1/_config"), error)
    # reads through a live node answer in full
    changes = response_of(cluster_answers["changes_node3_down"]).json()
    assert len(changes["results"]) == 14
