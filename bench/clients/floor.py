"""The async floor: a bare ``asyncio.Protocol`` with ``httptools`` and ``orjson``.

No client library: one keep-alive connection per worker, a GET written as prebuilt bytes,
the response parsed by ``httptools`` and its body decoded by ``orjson``. What is left of an
awaited get once the HTTP bytes are parsed; corduroy's async figures are ratios to it.
``get`` awaits one request at a time; ``get32`` runs 32 workers, each on its own connection.
"""

from __future__ import annotations

import asyncio
import base64
import socket
from typing import Any
from urllib.parse import unquote, urlsplit

import common
import httptools
import orjson


class Conn(asyncio.Protocol):
    """One connection: ``await conn.get(path)`` sends a GET and returns the decoded body."""

    def __init__(self, host: bytes, auth: bytes) -> None:
        self.head = b" HTTP/1.1\r\nHost: " + host + b"\r\nAccept: application/json\r\n" + auth
        self.parser = httptools.HttpResponseParser(self)
        self.transport: asyncio.Transport | None = None
        self.body: list[bytes] = []
        self.waiter: asyncio.Future[Any] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed_data(data)

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        status = self.parser.get_status_code()
        body = b"".join(self.body)
        self.body = []
        waiter, self.waiter = self.waiter, None
        assert waiter is not None
        if status >= 400:
            waiter.set_exception(RuntimeError(f"{status} {body[:200]!r}"))
        else:
            waiter.set_result(orjson.loads(body))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc or ConnectionError("closed"))

    def get(self, path: str) -> asyncio.Future[Any]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(b"GET " + path.encode() + self.head)
        return self.waiter


url_parts: Any
pool: list[Conn] = []


async def connect() -> Conn:
    host, port = url_parts.hostname, url_parts.port or 80
    auth = b"\r\n"
    if url_parts.username:
        token = f"{unquote(url_parts.username)}:{unquote(url_parts.password or '')}"
        auth = b"Authorization: Basic " + base64.b64encode(token.encode()) + b"\r\n\r\n"
    loop = asyncio.get_running_loop()
    _, conn = await loop.create_connection(
        lambda: Conn(f"{host}:{port}".encode(), auth), host, port
    )
    return conn


async def setup(job: common.Job) -> None:
    global url_parts
    url_parts = urlsplit(job["url"])
    pool[:] = [await connect() for _ in range(job["concurrency"])]


async def get(job: common.Job) -> int:
    conn, db = pool[0], job["db"]
    ids = common.get_ids(job)
    for docid in ids:
        await conn.get(f"/{db}/{docid}")
    return len(ids)


async def get32(job: common.Job) -> int:
    ids, db = iter(common.get_ids(job)), job["db"]

    async def worker(conn: Conn) -> None:
        for docid in ids:
            await conn.get(f"/{db}/{docid}")

    await asyncio.gather(*(worker(conn) for conn in pool))
    return job["n"]


async def close(job: common.Job) -> None:
    for conn in pool:
        if conn.transport is not None:
            conn.transport.close()


if __name__ == "__main__":
    common.main("floor", {"setup": setup, "get": get, "get32": get32, "close": close})
