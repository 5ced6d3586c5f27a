"""A tiny HTTP server that answers like CouchDB 3.4.3, from recorded responses, very fast.

pouchdb-server answers about 1,500 gets/s here, so against it a client's wall time is mostly
the server's. This server answers the benchmark's request patterns from the recorded CouchDB
3.4.3 exchanges in ``bench/fixtures/couchdb3-replay.jsonl`` (their status lines, headers and
body shapes), filling in the ids a request names; it stores nothing:

* ``GET/HEAD /``, ``GET /_session``, ``POST /_session``, ``GET /_uuids``
* ``PUT``, ``GET``, ``HEAD``, ``DELETE /{db}``
* ``GET/HEAD /{db}/{docid}``: ``{"_id": docid, "_rev": ..., "n": ..., "name": "x" * 40}``
* ``PUT /{db}/{docid}``: ``201 {"ok": true, "id": docid, "rev": ...}``
* ``POST /{db}/_bulk_docs``: one ``{"ok", "id", "rev"}`` per document sent
* ``GET/POST /{db}/_all_docs``: ``--rows`` documents (``doc00000``...), with ``include_docs``
  or without, sent chunked like CouchDB, ``limit`` honoured; ``--stream-rows`` documents
  for databases named ``bench-stream*``; N documents (``doc0000000``..., with their docs,
  made as they are sent, so 1,000,000 rows cost the server no memory) for ``bench-grow-N``

One process per ``--workers`` shares the listening socket. ``--check`` measures its own rate
(many keep-alive connections, one GET at a time on each) and exits.

    python bench/replay_server.py --port 0 --rows 20000     # prints "READY <port>"
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import os
import signal
import socket
import sys
import time
from collections import deque
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

try:
    import orjson

    def loads(data: bytes) -> Any:
        return orjson.loads(data)

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj)
except ImportError:  # pragma: no cover - the bench venv has orjson

    def loads(data: bytes) -> Any:
        return json.loads(data)

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()


RECORDED = Path(__file__).with_name("fixtures") / "couchdb3-replay.jsonl"
REV = "1-2ca0ce4371704a9999c426c85b5ee781"
#: rows of _all_docs per HTTP chunk (CouchDB streams rows as it reads them)
ROWS_PER_CHUNK = 64
#: databases whose name starts with this have ``--stream-rows`` documents
STREAM_PREFIX = "bench-stream"
#: ``bench-grow-N``: N rows generated while they are sent (the growth benchmark)
GROW_PREFIX = "bench-grow-"
GROW_ROW = (
    b'{"id":"doc%07d","key":"doc%07d","value":{"rev":"' + REV.encode() + b'"},'
    b'"doc":{"_id":"doc%07d","_rev":"' + REV.encode() + b'","n":%d,"name":"' + b"x" * 40 + b'"}}'
)


class Canned:
    """Header blocks (from the recordings) and pre-built bodies."""

    def __init__(self, rows: int, stream_rows: int) -> None:
        self.heads: dict[str, tuple[int, list[tuple[str, str]]]] = {}
        self.bodies: dict[str, bytes] = {}
        for line in RECORDED.read_text().splitlines():
            exchange = json.loads(line)
            response = exchange["response"]
            headers = [
                (name, value)
                for name, value in response["headers"].items()
                if name not in ("content-length", "transfer-encoding", "date", "connection")
            ]
            self.heads[exchange["name"]] = (response["status"], headers)
            if response.get("body") is not None:
                self.bodies[exchange["name"]] = dumps(response["body"])
        self.rows = rows
        self.all_docs = self._all_docs(rows, True)
        self.all_ids = self._all_docs(rows, False)
        self.stream_rows = stream_rows
        self.stream_docs = self._all_docs(stream_rows, True)
        self.date = b""
        self.date_at = 0.0
        self.encoded: dict[tuple[str, tuple[tuple[str, str], ...], int | None], bytes] = {}

    @staticmethod
    def _all_docs(rows: int, docs: bool) -> list[bytes]:
        """The body of ``_all_docs`` in chunks, in CouchDB's layout (``,\\r\\n`` between rows)."""
        lines = []
        for i in range(rows):
            docid = f"doc{i:05d}"
            row: dict[str, Any] = {"id": docid, "key": docid, "value": {"rev": REV}}
            if docs:
                row["doc"] = {"_id": docid, "_rev": REV, "n": i, "name": "x" * 40}
            lines.append(dumps(row))
        head = b'{"total_rows":%d,"offset":0,"rows":[\r\n' % rows
        chunks = [head]
        for start in range(0, rows, ROWS_PER_CHUNK):
            chunk = b",\r\n".join(lines[start : start + ROWS_PER_CHUNK])
            chunks.append((b",\r\n" if start else b"") + chunk)
        chunks.append(b"\r\n]}\n")
        return chunks

    def response(
        self,
        name: str,
        body: bytes,
        extra: tuple[tuple[str, str], ...] = (),
        head_only: bool = False,
        status: int | None = None,
    ) -> bytes:
        key = (name, extra, status)
        head = self.encoded.get(key)
        if head is None:
            code, headers = self.heads[name]
            code = status or code
            lines = [f"HTTP/1.1 {code} {_REASONS[code]}\r\n".encode()]
            lines.extend(f"{k}: {v}\r\n".encode() for k, v in (*headers, *extra))
            head = self.encoded[key] = b"".join(lines)
        framing = b"date: %b\r\ncontent-length: %d\r\n\r\n" % (self._date(), len(body))
        return head + framing if head_only else head + framing + body

    def chunked(self, name: str, chunks: list[bytes], limit: int | None, rows: int) -> bytes:
        code, headers = self.heads[name]
        out = [f"HTTP/1.1 {code} OK\r\n".encode()]
        out.extend(f"{k}: {v}\r\n".encode() for k, v in headers)
        out.append(b"date: " + self._date() + b"\r\ntransfer-encoding: chunked\r\n\r\n")
        if limit is not None and limit < rows:
            body = chunks[0] + b"".join(chunks[1:-1])
            parts = body.split(b",\r\n", limit)  # the head's "[\r\n" has no comma
            chunks = (
                [b",\r\n".join(parts[:limit]), chunks[-1]] if limit else [chunks[0], chunks[-1]]
            )
        for chunk in chunks:
            out.append(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        out.append(b"0\r\n\r\n")
        return b"".join(out)

    def grown(self, rows: int) -> Iterator[bytes]:
        """``_all_docs?include_docs=true`` of ``rows`` documents, chunk by chunk, made lazily."""
        code, headers = self.heads["all_docs_include_docs"]
        head = [f"HTTP/1.1 {code} OK\r\n".encode()]
        head.extend(f"{k}: {v}\r\n".encode() for k, v in headers)
        head.append(b"date: " + self._date() + b"\r\ntransfer-encoding: chunked\r\n\r\n")
        first = b'{"total_rows":%d,"offset":0,"rows":[\r\n' % rows
        yield b"".join(head) + b"%x\r\n%b\r\n" % (len(first), first)
        for start in range(0, rows, 4 * ROWS_PER_CHUNK):
            stop = min(start + 4 * ROWS_PER_CHUNK, rows)
            chunk = b",\r\n".join([GROW_ROW % (i, i, i, i) for i in range(start, stop)])
            if start:
                chunk = b",\r\n" + chunk
            yield b"%x\r\n%b\r\n" % (len(chunk), chunk)
        yield b"5\r\n\r\n]}\n\r\n0\r\n\r\n"

    def _date(self) -> bytes:
        now = time.time()
        if now - self.date_at >= 1:
            self.date = formatdate(now, usegmt=True).encode()
            self.date_at = now
        return self.date


_REASONS = {200: "OK", 201: "Created", 404: "Object Not Found", 400: "Bad Request"}


def route(canned: Canned, method: str, target: str, body: bytes) -> bytes | Iterator[bytes]:
    path, _, query = target.partition("?")
    parts = [unquote(p) for p in path.split("/")[1:]]
    head = method == "HEAD"
    if path == "/":
        return canned.response("root", canned.bodies["root"], head_only=head)
    if parts[0] == "_session":
        name = "session_post_json" if method == "POST" else "session_get_basic"
        return canned.response(name, canned.bodies[name])
    if parts[0] == "_uuids":
        count = int(dict(parse_qsl(query)).get("count", "1"))
        uuids = [os.urandom(16).hex() for _ in range(count)]
        return canned.response("uuids_count_3", dumps({"uuids": uuids}))
    if len(parts) == 1:
        db = parts[0]
        if method == "PUT":
            return canned.response(
                "db_create_201", b'{"ok":true}', (("location", f"http://127.0.0.1/{db}"),)
            )
        if method == "DELETE":
            return canned.response("db_delete", b'{"ok":true}')
        info = canned.bodies["db_info"].replace(b'"db1"', dumps(db))
        return canned.response("db_info", info, head_only=head)
    db, docid = parts[0], "/".join(parts[1:])
    if docid == "_all_docs":
        opts = dict(parse_qsl(query))
        if method == "POST" and body:
            opts.update({k: json.dumps(v) for k, v in loads(body).items() if k != "keys"})
        docs = opts.get("include_docs") == "true"
        limit = int(opts["limit"]) if "limit" in opts else None
        if db.startswith(GROW_PREFIX):
            return canned.grown(int(db[len(GROW_PREFIX) :]))
        if db.startswith(STREAM_PREFIX):
            return canned.chunked(
                "all_docs_include_docs", canned.stream_docs, limit, canned.stream_rows
            )
        return canned.chunked(
            "all_docs_include_docs", canned.all_docs if docs else canned.all_ids, limit, canned.rows
        )
    if docid == "_bulk_docs":
        sent = loads(body)["docs"]
        result = [
            {"ok": True, "id": doc.get("_id") or os.urandom(16).hex(), "rev": REV} for doc in sent
        ]
        return canned.response("bulk_docs_new", dumps(result))
    if method == "PUT":
        return canned.response("doc_put_201", dumps({"ok": True, "id": docid, "rev": REV}))
    if method == "DELETE":
        return canned.response(
            "doc_put_201", dumps({"ok": True, "id": docid, "rev": REV}), status=200
        )
    n = int(docid[3:]) if docid[3:].isdigit() else 0
    doc = {"_id": docid, "_rev": REV, "n": n, "name": "x" * 40}
    return canned.response("doc_get", dumps(doc), head_only=head)


class ReplayProtocol(asyncio.Protocol):
    """Keep-alive HTTP/1.1: parses request heads and Content-Length or chunked bodies."""

    def __init__(self, canned: Canned) -> None:
        self.canned = canned
        self.buffer = bytearray()
        self.transport: asyncio.Transport | None = None
        self.pending: deque[bytes | Iterator[bytes]] = deque()  # answers not yet written
        self.paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        out = self.pending
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = bytes(buffer[:end]).decode("latin-1")
            request_line, _, header_text = head.partition("\r\n")
            lowered = header_text.lower()
            start = end + 4
            if "transfer-encoding: chunked" in lowered:
                body, used = _dechunk(buffer, start)
                if body is None:
                    break
                del buffer[:used]
            else:
                length = 0
                at = lowered.find("content-length:")
                if at >= 0:
                    eol = lowered.find("\r\n", at)
                    length = int(lowered[at + 15 : eol if eol >= 0 else len(lowered)])
                if len(buffer) < start + length:
                    break
                body = bytes(buffer[start : start + length])
                del buffer[: start + length]
            if body and "content-encoding: gzip" in lowered:
                body = gzip.decompress(body)  # ibmcloudant compresses request bodies
            method, target, _ = request_line.split(" ", 2)
            try:
                out.append(route(self.canned, method, target, body))
            except Exception as exc:  # a bug here must be visible, not a hang
                message = dumps({"error": "replay", "reason": repr(exc)})
                out.append(
                    b"HTTP/1.1 500 Internal Server Error\r\ncontent-type: "
                    b"application/json\r\ncontent-length: %d\r\n\r\n%b" % (len(message), message)
                )
        self.pump()

    def pump(self) -> None:
        """Write the pending answers, a generated one only while the client keeps up."""
        pending, transport = self.pending, self.transport
        while pending and not self.paused and transport is not None:
            ready = []
            while pending and isinstance(pending[0], bytes):
                ready.append(pending.popleft())
            if ready:
                transport.write(b"".join(ready))  # type: ignore[arg-type]
                continue
            first = pending[0]
            assert not isinstance(first, bytes)
            part = next(first, None)
            if part is None:
                pending.popleft()
            else:
                transport.write(part)

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self.pump()


def _dechunk(buffer: bytearray, pos: int) -> tuple[bytes | None, int]:
    parts = []
    while True:
        eol = buffer.find(b"\r\n", pos)
        if eol < 0:
            return None, 0
        size = int(bytes(buffer[pos:eol]).split(b";")[0], 16)
        if len(buffer) < eol + 2 + size + 2:
            return None, 0
        if size == 0:
            end = buffer.find(b"\r\n", eol + 2)  # no trailers expected
            return (b"".join(parts), end + 2) if end >= 0 else (None, 0)
        parts.append(bytes(buffer[eol + 2 : eol + 2 + size]))
        pos = eol + 2 + size + 2


def serve(sock: socket.socket, rows: int, stream_rows: int) -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
    canned = Canned(rows, stream_rows)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: ReplayProtocol(canned), sock=sock)
        stop = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, stop.set)
        async with server:
            await stop.wait()

    asyncio.run(main())


def start_workers(port: int, workers: int, rows: int, stream_rows: int) -> tuple[int, list[int]]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    sock.setblocking(False)
    pids = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            try:
                serve(sock, rows, stream_rows)
            finally:
                os._exit(0)
        pids.append(pid)
    port = sock.getsockname()[1]
    sock.close()
    return port, pids


def check(port: int, seconds: float = 2.0, connections: int = 4, depth: int = 64) -> float:
    """Requests per second answered: ``connections`` keep-alive connections, each sent
    ``depth`` pipelined GETs at a time (so the measuring client is not what limits)."""
    request = (
        f"GET /bench/doc00001 HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        "Accept: application/json\r\n\r\n"
    ).encode() * depth
    socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
    done = 0
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        for sock in socks:
            sock.sendall(request)
        for sock in socks:
            seen, tail = 0, b""
            while seen < depth:
                data = sock.recv(1 << 20)
                seen += (tail + data).count(b"HTTP/1.1 200")
                tail = data[-12:]
            done += depth
    rate = done / (time.perf_counter() - start)
    for sock in socks:
        sock.close()
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rows", type=int, default=20000, help="documents in _all_docs")
    parser.add_argument(
        "--stream-rows",
        type=int,
        default=100000,
        help=f"documents in _all_docs of databases named {STREAM_PREFIX}*",
    )
    parser.add_argument("--check", action="store_true", help="measure requests/s and exit")
    args = parser.parse_args()
    port, pids = start_workers(args.port, args.workers, args.rows, args.stream_rows)
    try:
        if args.check:
            rate = check(port)
            print(f"{rate:,.0f} requests/s ({args.workers} workers)")
            return 0
        print(f"READY {port}", flush=True)
        signal.sigwait({signal.SIGTERM, signal.SIGINT})
    finally:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGTERM)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
    return 0


if __name__ == "__main__":
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    sys.exit(main())
