"""The retry policy inside both transports, against a scripted server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from corduroy.errors import ConnectError, ConnectionDropped, Timeout
from corduroy.http import RetryPolicy, call_options
from corduroy.http.async_pool import AsyncTransport
from corduroy.http.config import HTTPConfig
from corduroy.http.messages import Request, Response
from corduroy.http.sync_pool import SyncTransport

pytestmark = pytest.mark.timeout(30)

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
BUSY = b"HTTP/1.1 503 Busy\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
FAST = RetryPolicy(backoff=0.01, max_backoff=0.05)


class Scripted:
    """Answers each request with the next scripted action; then 200 ok."""

    def __init__(self, *actions: str) -> None:
        self.actions = list(actions)
        self.requests: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        with conn:
            while line := reader.readline():
                length = 0
                while (header := reader.readline()) not in (b"\r\n", b""):
                    if header.lower().startswith(b"content-length:"):
                        length = int(header.split(b":")[1])
                reader.read(length)
                self.requests.append(line.decode().split(" ")[0])
                action = self.actions.pop(0) if self.actions else "ok"
                if action == "drop":
                    return
                if action == "stall":
                    time.sleep(1.0)
                    return
                if action == "busy":
                    conn.sendall(BUSY)
                    return
                conn.sendall(OK)


@pytest.fixture(params=["sync", "async"])
def send(request: pytest.FixtureRequest) -> Iterator[Any]:
    made: list[Any] = []

    def sender(url: str, **config: Any) -> Any:
        if request.param == "sync":
            transport: Any = SyncTransport(url, HTTPConfig(**config))
            made.append(transport)
            return transport.send

        transport = AsyncTransport(url, HTTPConfig(**config))

        def run(req: Request) -> Response:
            async def go() -> Response:
                return await transport.send(req)

            return asyncio.run(go())

        return run

    yield sender
    for transport in made:
        transport.close()


def test_busy_and_dropped_reads_are_retried(send: Any) -> None:
    server = Scripted("busy", "drop", "busy")
    response = send(server.url, retry=FAST)(Request("GET", "/"))
    assert (response.status, response.body) == (200, b"ok")
    assert server.requests == ["GET"] * 4


def test_writes_are_not_retried_after_being_sent(send: Any) -> None:
    server = Scripted("drop")
    with pytest.raises(ConnectionDropped):
        send(server.url, retry=FAST)(Request("PUT", "/", body=b"{}"))
    server = Scripted("busy")
    assert send(server.url, retry=FAST)(Request("POST", "/", body=b"{}")).status == 503
    assert server.requests == ["POST"]


def test_a_read_only_post_is_retried(send: Any) -> None:
    server = Scripted("busy", "drop")
    request = Request("POST", "/db/_all_docs", body=b'{"keys":[]}', idempotent=True)
    assert send(server.url, retry=FAST)(request).status == 200
    assert server.requests == ["POST"] * 3


def test_the_attempt_cap_returns_the_last_answer(send: Any) -> None:
    server = Scripted(*["busy"] * 10)
    policy = RetryPolicy(attempts=3, backoff=0.01)
    assert send(server.url, retry=policy)(Request("GET", "/")).status == 503
    assert len(server.requests) == 3


def test_call_options_override_retry_and_timeout(send: Any) -> None:
    server = Scripted("busy", "stall")
    sender = send(server.url, retry=FAST, read_timeout=10)
    with call_options(retry=False):
        assert sender(Request("GET", "/")).status == 503
    started = time.monotonic()
    with call_options(timeout=0.2), pytest.raises(Timeout):
        sender(Request("GET", "/"))
    assert time.monotonic() - started < 0.9  # not the 10 s of the config
    assert sender(Request("GET", "/")).status == 200


def test_refused_connections_are_retried_then_reported(send: Any) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    policy = RetryPolicy(attempts=3, backoff=0.01)
    with pytest.raises(ConnectError):
        send(f"http://127.0.0.1:{port}", retry=policy)(Request("PUT", "/", body=b"{}"))


def test_each_retry_logs_a_warning_and_each_try_a_debug_line(
    send: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = Scripted("busy", "drop")
    with caplog.at_level(logging.DEBUG, logger="corduroy"):
        send(server.url, retry=FAST)(Request("GET", "/db?x=1"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(warnings) == 2 and all(f"GET {server.url}/db?x=1" in w for w in warnings)
    assert "after 503" in warnings[0] and "after ConnectionDropped" in warnings[1]
    assert len(debug) == 3 and "failed (ConnectionDropped)" in debug[1]


def test_waiting_threads_are_served_in_turn() -> None:
    server = Scripted()
    transport = SyncTransport(
        server.url, HTTPConfig(max_connections=1, connect_timeout=2.0, retry=FAST)
    )
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(50):
                transport.send(Request("GET", "/"))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    transport.close()
    assert errors == [] and len(server.requests) == 400
