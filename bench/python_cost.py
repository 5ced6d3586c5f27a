"""The Python cost of one request, without the kernel's: sockets replaced by fakes.

On a shared virtual machine a request's CPU time is mostly system calls and wake-ups, the
same for every client and noisy, so ``make bench``'s ratios mix the part a client controls
with a part it cannot. Here every socket answers at once with a recorded CouchDB 3.4.3
answer (``bench/fixtures/couchdb3-replay.jsonl``), so what is measured is the Python (and
event-loop) work per call: corduroy blocking against the raw ``http.client`` + ``json`` loop
(``bench/clients/raw.py``), corduroy awaited against the async floor
(``bench/clients/floor.py``). Client CPU per call, the best of 7 rounds of 4,000 calls.

    .bench-venv/bin/python bench/python_cost.py
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE / "clients"))

import floor  # noqa: E402  (bench/clients, not a package)
import raw  # noqa: E402

from corduroy import Couch  # noqa: E402
from corduroy.http import sync_pool  # noqa: E402

URL = "http://admin:secret@127.0.0.1:5984/"
#: what the pool polls to see whether an idle connection was closed: a pipe nobody writes to
NEVER_READABLE, _ = os.pipe()
CALLS, ROUNDS = 4000, 7


def recorded(name: str, body: bytes) -> bytes:
    """A response as ``bench/replay_server.py`` sends it, for the recorded exchange ``name``."""
    for line in (HERE / "fixtures" / "couchdb3-replay.jsonl").read_text().splitlines():
        exchange = json.loads(line)
        if exchange["name"] == name:
            response = exchange["response"]
            lines = [f"HTTP/1.1 {response['status']} OK"]
            lines += [
                f"{k}: {v}"
                for k, v in response["headers"].items()
                if k not in ("content-length", "transfer-encoding", "connection")
            ]
            lines.append(f"content-length: {len(body)}")
            return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
    raise LookupError(name)


DOC = b'{"_id":"doc00001","_rev":"1-2ca0ce4371704a9999c426c85b5ee781","n":1,"name":"' + 40 * b"x"
GET = recorded("doc_get", DOC + b'"}')
PUT = recorded(
    "doc_put_201", b'{"ok":true,"id":"new00001","rev":"1-2ca0ce4371704a9999c426c85b5ee781"}'
)


class FakeSocket:
    """Answers every request at once: a GET with ``GET``, anything else with ``PUT``."""

    answer = GET

    def sendall(self, data: bytes) -> None:
        FakeSocket.answer = GET if data.startswith(b"GET") else PUT

    def recv(self, size: int) -> bytes:
        return self.answer

    def makefile(self, mode: str) -> io.BytesIO:  # http.client reads through a file
        return io.BytesIO(self.answer)

    def fileno(self) -> int:
        return NEVER_READABLE

    def setsockopt(self, *args: Any) -> None: ...

    def settimeout(self, timeout: float | None) -> None: ...

    def close(self) -> None: ...


class FakeTransport(asyncio.Transport):
    """Delivers ``GET`` on the next loop iteration after each write."""

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: asyncio.BaseProtocol) -> None:
        super().__init__()
        self.loop, self.protocol = loop, protocol

    def write(self, data: Any) -> None:
        self.loop.call_soon(self.deliver)

    def deliver(self) -> None:
        protocol = self.protocol
        if isinstance(protocol, asyncio.BufferedProtocol):
            protocol.get_buffer(len(GET))[: len(GET)] = GET
            protocol.buffer_updated(len(GET))
        else:
            assert isinstance(protocol, asyncio.Protocol)
            protocol.data_received(GET)

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return FakeSocket() if name == "socket" else default

    def is_closing(self) -> bool:
        return False

    def close(self) -> None: ...

    def abort(self) -> None: ...


async def fake_connection(
    loop: asyncio.BaseEventLoop, factory: Callable[[], Any], *args: Any, **kwargs: Any
) -> tuple[FakeTransport, Any]:
    protocol = factory()
    transport = FakeTransport(loop, protocol)
    protocol.connection_made(transport)
    return transport, protocol


def best(run: Callable[[], Any]) -> float:
    """CPU per call in µs, the best of ``ROUNDS`` rounds (after one to warm up)."""
    run()
    times = []
    for _ in range(ROUNDS):
        start = time.process_time()
        run()
        times.append(time.process_time() - start)
    return min(times) / CALLS * 1e6


def blocking() -> dict[str, float]:
    db = Couch(URL)["bench-x"]
    client = raw.Raw(URL)
    client.conn.sock = FakeSocket()  # type: ignore[assignment]
    doc = {"n": 1, "name": "y" * 40}
    return {
        "raw get": best(lambda: [client.request("GET", "/bench-x/doc00001") for _ in range(CALLS)]),
        "corduroy get": best(lambda: [db.get("doc00001") for _ in range(CALLS)]),
        "raw create": best(
            lambda: [client.request("PUT", "/bench-x/new00001", doc) for _ in range(CALLS)]
        ),
        "corduroy create": best(
            lambda: [db.save({"_id": "new00001", **doc}) for _ in range(CALLS)]
        ),
    }


async def awaited(width: int) -> dict[str, float]:
    db = Couch(URL)["bench-x"]
    floor.url_parts = raw.urlsplit(URL)
    conns = [await floor.connect() for _ in range(width)]

    async def floor_worker(conn: floor.Conn) -> None:
        for _ in range(CALLS // width):
            await conn.get("/bench-x/doc00001")

    async def corduroy_worker() -> None:
        for _ in range(CALLS // width):
            await db.get("doc00001")

    out = {}
    for name, make in (
        ("floor", lambda: asyncio.gather(*(floor_worker(conn) for conn in conns))),
        ("corduroy", lambda: asyncio.gather(*(corduroy_worker() for _ in range(width)))),
    ):
        await make()
        times = []
        for _ in range(ROUNDS):
            start = time.process_time()
            await make()
            times.append(time.process_time() - start)
        out[f"{name} awaited get, {width} at a time"] = min(times) / CALLS * 1e6
    return out


def main() -> None:
    sync_pool.socket.create_connection = lambda *a, **k: FakeSocket()  # type: ignore[assignment]
    asyncio.BaseEventLoop.create_connection = fake_connection  # type: ignore[assignment,method-assign]
    figures = blocking()
    for width in (1, 32):
        figures.update(asyncio.run(awaited(width)))
    for name, value in figures.items():
        print(f"{name:<36} {value:6.1f} µs")


if __name__ == "__main__":
    main()
