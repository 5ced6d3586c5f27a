"""The blocking floor: a bare ``socket`` with ``httptools`` and ``orjson``.

No client library: one keep-alive connection, a GET written as prebuilt bytes, the
response read with ``recv_into`` into one reused buffer, parsed by ``httptools`` and its
body decoded by ``orjson``. What is left of a blocking get once the HTTP bytes are parsed:
the system calls and the kernel's sleep and wake-up around them, which every blocking
client pays. ``bench/report.py`` shows corduroy's and the raw loop's get above this floor.
"""

from __future__ import annotations

import base64
import socket
from typing import Any
from urllib.parse import unquote, urlsplit

import common
import httptools
import orjson


class Conn:
    """One keep-alive connection: ``conn.get(path)`` sends a GET and returns the decoded body."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        auth = b""
        if parts.username:
            token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
            auth = b"Authorization: Basic " + base64.b64encode(token.encode()) + b"\r\n"
        self.head = (
            b" HTTP/1.1\r\nHost: " + f"{host}:{port}".encode() + b"\r\n"
            b"Accept: application/json\r\n" + auth + b"\r\n"
        )
        self.sock = socket.create_connection((host, port))
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = bytearray(65536)
        self.view = memoryview(self.buffer)
        self.parser = httptools.HttpResponseParser(self)
        self.body: list[bytes] = []
        self.complete = False

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True

    def get(self, path: str) -> Any:
        self.sock.sendall(b"GET " + path.encode() + self.head)
        self.complete = False
        while not self.complete:
            size = self.sock.recv_into(self.buffer)
            if not size:
                raise ConnectionError("the server closed the connection")
            self.parser.feed_data(self.view[:size])
        status = self.parser.get_status_code()
        body = b"".join(self.body)
        self.body = []
        if status >= 400:
            raise RuntimeError(f"GET {path}: {status} {body[:200]!r}")
        return orjson.loads(body)


conn: Conn


def setup(job: common.Job) -> None:
    global conn
    conn = Conn(job["url"])


def get(job: common.Job) -> int:
    db = job["db"]
    ids = common.get_ids(job)
    for docid in ids:
        conn.get(f"/{db}/{docid}")
    return len(ids)


if __name__ == "__main__":
    common.main("sockfloor", {"setup": setup, "get": get})
