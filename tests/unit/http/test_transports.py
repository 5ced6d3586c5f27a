"""Both transports against a small HTTP server on 127.0.0.1, run in threads of this process."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import threading
import time
import warnings
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from corduroy.errors import ConnectError, ConnectionDropped, Timeout
from corduroy.http.async_pool import AsyncTransport
from corduroy.http.config import HTTPConfig
from corduroy.http.messages import Request, Response
from corduroy.http.sync_pool import SyncTransport

pytestmark = pytest.mark.timeout(30)

BIG = bytes(range(256)) * 1200  # 300 KiB
SLOW = 3.0
HUGE = 32 * 1024 * 1024


class Server:
    """Answers by path; records connections and requests."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self.open: list[socket.socket] = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.listener.close()
        with self.lock:
            for conn in self.open:
                conn.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.open.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            number = 0
            while True:
                request = self._read_request(reader)
                if request is None:
                    return
                number += 1
                with self.lock:
                    self.requests.append(request)
                if not self._answer(conn, number, *request):
                    return
        except (OSError, ValueError):  # ValueError: not HTTP (a TLS hello)
            return
        finally:
            conn.close()

    @staticmethod
    def _read_request(reader: Any) -> tuple[str, str, dict[str, str], bytes] | None:
        line = reader.readline()
        if not line:
            return None
        method, target, _ = line.decode().split(" ")
        headers: dict[str, str] = {}
        while (line := reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        body = b""
        if headers.get("transfer-encoding") == "chunked":
            while size := int(reader.readline(), 16):
                body += reader.read(size)
                reader.readline()
            reader.readline()
        elif "content-length" in headers:
            body = reader.read(int(headers["content-length"]))
        return method, target, headers, body

    def _answer(
        self,
        conn: socket.socket,
        number: int,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes,
    ) -> bool:
        path = target.partition("?")[0]

        def send(status: str, extra: str = "", payload: bytes = b"") -> None:
            length = f"Content-Length: {len(payload)}\r\n" if status[:3] != "204" else ""
            head = f"HTTP/1.1 {status}\r\n{length}{extra}\r\n".encode()
            conn.sendall(head + (b"" if method == "HEAD" else payload))

        if path == "/hello":
            send("200 OK", "Content-Type: text/plain\r\n", b"hello")
        elif path == "/headers":
            send("200 OK", "", json.dumps(headers).encode())
        elif path == "/chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
            for part in (b"abc", b"defg", b"h" * 1000):
                conn.sendall(b"%x\r\n%b\r\n" % (len(part), part))
            conn.sendall(b"0\r\n\r\n")
        elif path == "/flaky":  # drops every request but the first on a connection
            if number > 1:
                return False
            send("200 OK", "", b"first")
        elif path == "/close-soon":  # keep-alive answer, then an idle close
            send("200 OK", "", b"bye")
            time.sleep(0.05)
            return False
        elif path == "/truncated-length":
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
            return False
        elif path == "/truncated-chunked":
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n")
            return False
        elif path == "/close-delimited":
            conn.sendall(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nuntil the end")
            return False
        elif path == "/slow":
            time.sleep(SLOW)
            send("200 OK", "", b"late")
        elif path == "/big":
            send("200 OK", "", BIG)
        elif path == "/huge":  # more than socket buffers and the client's buffer hold
            send("200 OK", "", b"z" * HUGE)
        elif path == "/echo":
            chunked = headers.get("transfer-encoding", "no")
            send("200 OK", f"X-Transfer-Encoding: {chunked}\r\n", body)
        elif path == "/empty":
            send("204 No Content")
        else:
            send("404 Not Found", "", b'{"error":"not_found"}')
        return True


class SyncClient:
    def __init__(self, url: str, config: HTTPConfig, headers: list[tuple[str, str]]) -> None:
        self.transport = SyncTransport(url, config, headers)

    def send(self, request: Request) -> Response:
        return self.transport.send(request)

    def read(self, response: Response, n: int = -1) -> bytes:
        data: bytes = response.stream.read(n)
        return data

    def close_stream(self, response: Response) -> None:
        response.stream.close()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def close(self) -> None:
        self.transport.close()


class AsyncClient:
    """Drives an AsyncTransport on one event loop, so its pool lives across calls."""

    def __init__(self, url: str, config: HTTPConfig, headers: list[tuple[str, str]]) -> None:
        self.transport = AsyncTransport(url, config, headers)
        self.runner = asyncio.Runner()

    def send(self, request: Request) -> Response:
        return self.runner.run(asyncio.wait_for(self.transport.send(request), 20))

    def read(self, response: Response, n: int = -1) -> bytes:
        data: bytes = self.runner.run(asyncio.wait_for(response.stream.read(n), 20))
        return data

    def close_stream(self, response: Response) -> None:
        self.runner.run(response.stream.aclose())

    def sleep(self, seconds: float) -> None:
        self.runner.run(asyncio.sleep(seconds))

    def close(self) -> None:
        self.runner.run(self.transport.aclose())
        self.runner.close()


Client = SyncClient | AsyncClient


@pytest.fixture
def server() -> Iterator[Server]:
    srv = Server()
    yield srv
    srv.close()


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest, server: Server) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []
    cls = SyncClient if request.param == "sync" else AsyncClient

    def make(url: str = "", headers: list[tuple[str, str]] | None = None, **config: Any) -> Client:
        client = cls(url or server.url, HTTPConfig(**config), headers or [])
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., Client]) -> Client:
    return make_client(read_timeout=10.0, connect_timeout=5.0)


def test_keep_alive_connection_is_reused(client: Client, server: Server) -> None:
    for _ in range(5):
        response = client.send(Request("GET", "/hello"))
        assert (response.status, response.reason, response.body) == (200, "OK", b"hello")
        assert response.headers["content-type"] == "text/plain"
    assert server.connections == 1
    missing = client.send(Request("GET", "/nope"))
    assert missing.status == 404 and missing.json() == {"error": "not_found"}


def test_default_and_request_headers_are_sent(make_client: Callable[..., Client]) -> None:
    client = make_client(headers=[("Authorization", "Basic dTpw")])
    sent = client.send(Request("GET", "/headers")).json()
    assert sent["accept"] == "application/json" and sent["authorization"] == "Basic dTpw"
    assert sent["host"].startswith("127.0.0.1:")
    sent = client.send(Request("GET", "/headers", headers=(("Accept", "*/*"),))).json()
    assert sent["accept"] == "*/*"


def test_base_path_is_prefixed(make_client: Callable[..., Client], server: Server) -> None:
    client = make_client(url=server.url + "/couch/")
    client.send(Request("GET", "/db", query="a=1"))
    assert server.requests[-1][1] == "/couch/db?a=1"


def test_chunked_response(client: Client) -> None:
    response = client.send(Request("GET", "/chunked"))
    assert response.body == b"abcdefg" + b"h" * 1000
    assert client.send(Request("GET", "/hello")).body == b"hello"


def test_close_delimited_response(client: Client) -> None:
    assert client.send(Request("GET", "/close-delimited")).body == b"until the end"
    assert client.send(Request("GET", "/hello")).body == b"hello"


def test_server_closing_a_reused_connection_is_retried_once(client: Client, server: Server) -> None:
    assert client.send(Request("GET", "/flaky")).body == b"first"
    # the server reads the next request on that connection and hangs up
    assert client.send(Request("GET", "/flaky")).body == b"first"
    assert server.connections == 2


def test_a_write_the_server_may_have_read_is_not_sent_again(client: Client, server: Server) -> None:
    assert client.send(Request("GET", "/flaky")).body == b"first"
    with pytest.raises(ConnectionDropped):
        client.send(Request("PUT", "/flaky", body=b"{}"))
    assert [r[0] for r in server.requests] == ["GET", "PUT"]


def test_idle_close_by_server_is_survived(client: Client, server: Server) -> None:
    assert client.send(Request("GET", "/close-soon")).body == b"bye"
    client.sleep(0.3)
    assert client.send(Request("GET", "/hello")).body == b"hello"
    assert server.connections == 2


def test_iterator_body_is_not_replayed(client: Client, server: Server) -> None:
    client.send(Request("GET", "/flaky"))
    with pytest.raises(ConnectionDropped) as info:
        client.send(Request("PUT", "/flaky", body=iter([b"a", b"b"])))
    assert info.value.method == "PUT" and info.value.url == server.url + "/flaky"


def test_expired_idle_connections_are_not_reused(
    make_client: Callable[..., Client], server: Server
) -> None:
    client = make_client(keepalive_expiry=0.1)
    client.send(Request("GET", "/hello"))
    client.sleep(0.25)
    client.send(Request("GET", "/hello"))
    assert server.connections == 2


@pytest.mark.parametrize("path", ["/truncated-length", "/truncated-chunked"])
def test_truncated_body_raises(client: Client, server: Server, path: str) -> None:
    with pytest.raises(ConnectionDropped) as info:
        client.send(Request("GET", path))
    assert info.value.url == server.url + path
    assert client.send(Request("GET", "/hello")).body == b"hello"


@pytest.mark.parametrize("path", ["/truncated-length", "/truncated-chunked"])
def test_truncated_streamed_body_raises(client: Client, path: str) -> None:
    response = client.send(Request("GET", path, stream=True))
    assert response.status == 200
    with pytest.raises(ConnectionDropped):
        while client.read(response, 4):
            pass


def test_read_timeout(make_client: Callable[..., Client]) -> None:
    client = make_client(read_timeout=0.3)
    started = time.monotonic()
    with pytest.raises(Timeout) as info:
        client.send(Request("GET", "/slow"))
    assert 0.25 < time.monotonic() - started < 2.0
    assert info.value.method == "GET"
    assert client.send(Request("GET", "/hello")).body == b"hello"


def test_request_timeout_overrides_config(client: Client) -> None:
    started = time.monotonic()
    with pytest.raises(Timeout):
        client.send(Request("GET", "/slow", timeout=0.2))
    assert time.monotonic() - started < 2.0


def test_connect_refused(make_client: Callable[..., Client]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = make_client(url=f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectError) as info:
        client.send(Request("GET", "/x"))
    assert info.value.url == f"http://127.0.0.1:{port}/x"


def test_tls_to_a_plain_server_fails_to_connect(
    make_client: Callable[..., Client], server: Server
) -> None:
    client = make_client(url=f"https://127.0.0.1:{server.port}", connect_timeout=5.0)
    with pytest.raises(ConnectError):
        client.send(Request("GET", "/hello"))


def test_streamed_body_in_small_pieces(client: Client, server: Server) -> None:
    response = client.send(Request("GET", "/big", stream=True))
    assert response.status == 200 and response.body == b""
    pieces = []
    while piece := client.read(response, 1000):
        assert len(piece) <= 1000
        pieces.append(piece)
    assert b"".join(pieces) == BIG
    assert client.send(Request("GET", "/hello")).body == b"hello"
    assert server.connections == 1  # read to the end: back in the pool


def test_streamed_body_closed_early_discards_connection(client: Client, server: Server) -> None:
    response = client.send(Request("GET", "/huge", stream=True))
    assert client.read(response, 10) == b"z" * 10
    client.close_stream(response)
    assert client.send(Request("GET", "/hello")).body == b"hello"
    assert server.connections == 2


def test_stream_fully_buffered_then_closed_keeps_connection(client: Client) -> None:
    response = client.send(Request("GET", "/big", stream=True))
    assert len(client.read(response, 10)) == 10
    client.sleep(0.2)  # the rest of the body may now sit in the client's buffer
    client.close_stream(response)
    for _ in range(2):
        assert client.send(Request("GET", "/hello")).body == b"hello"


def test_streamed_read_all(client: Client) -> None:
    response = client.send(Request("GET", "/chunked", stream=True))
    assert client.read(response) == b"abcdefg" + b"h" * 1000
    assert client.read(response) == b""


def test_pool_limit_waits_then_times_out(make_client: Callable[..., Client]) -> None:
    client = make_client(max_connections=1, connect_timeout=0.3)
    held = client.send(Request("GET", "/big", stream=True))
    started = time.monotonic()
    with pytest.raises(Timeout):
        client.send(Request("GET", "/hello"))
    assert time.monotonic() - started < 2.0
    client.close_stream(held)
    assert client.send(Request("GET", "/hello")).body == b"hello"


def test_chunked_request_body_from_generator(client: Client, server: Server) -> None:
    def parts() -> Iterator[bytes]:
        yield b"abc"
        yield b""
        yield b"x" * 100_000

    response = client.send(Request("PUT", "/echo", body=parts()))
    assert response.body == b"abc" + b"x" * 100_000
    assert response.headers["x-transfer-encoding"] == "chunked"
    assert server.requests[-1][3] == response.body


def test_bytes_request_body(client: Client) -> None:
    for size in (3, 200_000):
        response = client.send(Request("POST", "/echo", body=b"y" * size))
        assert response.body == b"y" * size
        assert response.headers["x-transfer-encoding"] == "no"


def test_async_iterable_request_body(server: Server) -> None:
    async def parts() -> AsyncIterator[bytes]:
        for part in (b"one", b"two"):
            await asyncio.sleep(0)
            yield part

    async def main() -> bytes:
        transport = AsyncTransport(server.url, HTTPConfig(read_timeout=10))
        try:
            return (await transport.send(Request("PUT", "/echo", body=parts()))).body
        finally:
            await transport.aclose()

    assert asyncio.run(main()) == b"onetwo"


def test_head_and_204(client: Client, server: Server) -> None:
    head = client.send(Request("HEAD", "/hello"))
    assert (head.status, head.body, head.headers["content-length"]) == (200, b"", "5")
    empty = client.send(Request("DELETE", "/empty"))
    assert (empty.status, empty.body) == (204, b"")
    assert client.send(Request("GET", "/hello")).body == b"hello"
    streamed = client.send(Request("HEAD", "/hello", stream=True))
    assert client.read(streamed, 10) == b""
    assert client.send(Request("GET", "/hello")).body == b"hello"
    assert server.connections == 1


def test_one_async_transport_on_several_loops(server: Server) -> None:
    transport = AsyncTransport(server.url, HTTPConfig(read_timeout=10))

    async def main() -> bytes:
        return (await transport.send(Request("GET", "/hello"))).body

    assert asyncio.run(main()) == b"hello"
    results: list[bytes] = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(main())))
    thread.start()
    thread.join(10)
    assert results == [b"hello"]


def test_sync_transport_is_thread_safe(server: Server) -> None:
    transport = SyncTransport(server.url, HTTPConfig(read_timeout=10, max_connections=3))
    bodies: list[bytes] = []

    def work() -> None:
        for _ in range(20):
            bodies.append(transport.send(Request("GET", "/hello")).body)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    transport.close()
    assert bodies == [b"hello"] * 120
    assert server.connections <= 3


def test_urls_with_credentials_are_refused() -> None:
    with pytest.raises(ValueError):
        SyncTransport("http://user:pw@127.0.0.1:5984", HTTPConfig())
    with pytest.raises(ValueError):
        AsyncTransport("http://user:pw@127.0.0.1:5984", HTTPConfig())


def test_one_debug_line_per_request_without_headers(
    client: Client, server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="corduroy.http"):
        client.send(Request("GET", "/hello", query="a=1", headers=(("Authorization", "s3cret"),)))
    [record] = [r for r in caplog.records if r.name == "corduroy.http"]
    assert record.levelno == logging.DEBUG
    message = record.getMessage()
    assert f"GET {server.url}/hello?a=1 200" in message and "ms" in message
    assert "s3cret" not in message


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_gets_its_own_connections(server: Server) -> None:
    transport = SyncTransport(server.url, HTTPConfig(read_timeout=10))
    assert transport.send(Request("GET", "/hello")).body == b"hello"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads
        pid = os.fork()
    if pid == 0:  # the child: must not share the parent's socket
        ok = transport.send(Request("GET", "/hello")).body == b"hello"
        os._exit(0 if ok else 1)
    deadline = time.monotonic() + 10
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    if done[0] == 0:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
    assert done[0] == pid and os.waitstatus_to_exitcode(done[1]) == 0
    assert transport.send(Request("GET", "/hello")).body == b"hello"
    assert server.connections == 2
    transport.close()


def test_async_queue_for_a_connection_times_out_in_order_and_skips_cancelled(
    server: Server,
) -> None:
    transport = AsyncTransport(server.url, HTTPConfig(max_connections=1, connect_timeout=0.3))

    async def main() -> list[tuple[str, float]]:
        held = await transport.send(Request("GET", "/big", stream=True))  # the only connection
        began = time.monotonic()
        outcomes: list[tuple[str, float]] = []

        async def one(delay: float) -> None:
            await asyncio.sleep(delay)
            try:
                await transport.send(Request("GET", "/hello"))
                outcomes.append(("ok", time.monotonic() - began))
            except Timeout:
                outcomes.append(("timeout", time.monotonic() - began))

        waiting = [asyncio.create_task(one(delay)) for delay in (0.0, 0.1, 0.2)]
        cancelled = asyncio.create_task(one(0.05))
        await asyncio.sleep(0.15)
        cancelled.cancel()  # a waiter that gives up must not keep a place in the queue
        await asyncio.gather(*waiting)
        await held.stream.aclose()  # the connection comes back: the next request gets it
        answer = await transport.send(Request("GET", "/hello"))
        outcomes.append((answer.body.decode(), time.monotonic() - began))
        return outcomes

    outcomes = asyncio.run(main())
    assert [what for what, _ in outcomes] == ["timeout", "timeout", "timeout", "hello"]
    times = [at for _, at in outcomes[:3]]
    assert times == sorted(times)  # each waiter gives up 0.3 s after it started waiting
    for started, at in zip((0.0, 0.1, 0.2), times, strict=True):
        assert 0.25 <= at - started < 1.0


def test_keep_alive_is_reused_past_descriptor_1023(server: Server) -> None:
    """The idle-connection check works with any descriptor number (select() stops at 1023)."""
    resource = pytest.importorskip("resource")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 1400
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"the descriptor limit ({hard}) is below {wanted}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    transport = SyncTransport(server.url, HTTPConfig(read_timeout=10))
    try:
        for n in range(5):  # writes: each reuse is checked for an EOF first
            response = transport.send(Request("PUT", "/echo", body=b"%d" % n))
            assert response.body == b"%d" % n
        (conn,) = transport._idle
        assert conn.sock.fileno() > 1100
        assert server.connections == 1
    finally:
        transport.close()
        for fd in held:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
