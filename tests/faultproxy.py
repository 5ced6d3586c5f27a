"""A fault-injecting HTTP/1.1 proxy for tests: corduroy -> FaultProxy -> server.

The proxy runs an asyncio server on 127.0.0.1 in a background thread. It reads
each request, decides what to do with it, and relays the server's answer, so
faults apply per request and keep-alive connections keep working::

    with FaultProxy(("127.0.0.1", 5984)) as proxy:
        couch = Couch(proxy.url_for("http://admin:pw@127.0.0.1:5984/"), read_timeout=1)
        proxy.inject("drop", times=1)    # the next request gets half an answer
        couch.info()                     # retried on a fresh connection

Faults (``inject(fault, times=n)``; ``times=None``: until ``clear()``):

* ``drop``: relay the request, then only the head and half of the first body
  piece of the answer, and close the connection;
* ``reset``: relay the request, then reset the connection (RST) when the
  answer's head arrives: the server acted, the client learns nothing;
* ``stall``: read the request and never answer (nothing reaches the server);
* ``stall_body``: relay the head and half of the first body piece, then stall;
* ``truncate``: read the whole answer, resend it chunked and cut in the middle
  of its last data chunk, without the terminating chunk, then close;
* ``unavailable``: answer ``503`` with ``Retry-After`` (``retry_after``
  seconds) without asking the server.

``pause()`` closes the listening socket (connections are refused) and
``resume()`` opens it again on the same port. ``seen`` lists
``(method, target, fault)`` of every request, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
import threading
from collections.abc import AsyncIterator
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["FAULTS", "FaultProxy"]

FAULTS = ("pass", "drop", "reset", "stall", "stall_body", "truncate", "unavailable")
_LIMIT = 1 << 24


class _Message:
    """One request or response head, read from a stream."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        lines = head.decode("latin-1").split("\r\n")
        self.start = lines[0]
        self.headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line:
                name, _, value = line.partition(":")
                self.headers.append((name.strip(), value.strip()))

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    @property
    def chunked(self) -> bool:
        return "chunked" in (self.header("transfer-encoding") or "").lower()

    @property
    def length(self) -> int | None:
        value = self.header("content-length")
        return int(value) if value is not None else None


async def _read_head(reader: asyncio.StreamReader) -> _Message | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    return _Message(head)


async def _body_pieces(
    reader: asyncio.StreamReader, message: _Message, no_body: bool = False
) -> AsyncIterator[bytes]:
    """The raw framed body bytes of ``message``, piece by piece (an async generator)."""
    if no_body:
        return
    if message.chunked:
        while True:
            line = await reader.readuntil(b"\r\n")
            size = int(line.split(b";")[0], 16)
            if size == 0:
                trailer = await reader.readuntil(b"\r\n")
                while trailer != b"\r\n":
                    line += trailer
                    trailer = await reader.readuntil(b"\r\n")
                yield line + trailer
                return
            yield line + await reader.readexactly(size + 2)
    elif message.length is not None:
        left = message.length
        while left:
            piece = await reader.read(min(left, 65536))
            if not piece:
                raise asyncio.IncompleteReadError(b"", left)
            left -= len(piece)
            yield piece
    elif message.start.startswith("HTTP/"):  # a close-delimited answer
        while piece := await reader.read(65536):
            yield piece


def _payload(raw: bytes, chunked: bool) -> bytes:
    """The body bytes inside a framed (chunked or not) body."""
    if not chunked:
        return raw
    out, rest = b"", raw
    while rest:
        line, _, rest = rest.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            break
        out, rest = out + rest[:size], rest[size + 2 :]
    return out


async def _until_closed(reader: asyncio.StreamReader) -> None:
    """Say nothing until the client gives up (or the proxy closes)."""
    while await reader.read(65536):
        pass


def _abort(writer: asyncio.StreamWriter) -> None:
    """Close with RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """See the module docstring."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.seen: list[tuple[str, str, str]] = []
        self.retry_after = "1"
        self._lock = threading.Lock()
        self._fault = "pass"
        self._times: int | None = 0
        self._port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self.resume()

    # control, from the test's thread

    @property
    def port(self) -> int:
        return self._port

    def url_for(self, server_url: str) -> str:
        """``server_url`` (credentials kept) pointed at the proxy."""
        parts = urlsplit(server_url)
        userinfo = parts.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self._port}" if userinfo else f"127.0.0.1:{self._port}"
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))

    def inject(self, fault: str, times: int | None = 1, retry_after: str = "1") -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        with self._lock:
            self._fault, self._times, self.retry_after = fault, times, retry_after

    def clear(self) -> None:
        """No more faults."""
        self.inject("pass", 0)

    def reset(self) -> None:
        """No more faults, and forget what was seen."""
        self.clear()
        self.seen.clear()

    def faults(self) -> list[str]:
        """The faults applied so far, in order."""
        return [fault for _, _, fault in self.seen if fault != "pass"]

    def pause(self) -> None:
        """Stop listening: new connections are refused (open ones are closed too)."""
        self._call(self._stop_listening())

    def resume(self) -> None:
        """Listen again, on the same port."""
        self._call(self._listen())

    def close(self) -> None:
        self._call(self._stop_listening())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    def _take_fault(self) -> str:
        with self._lock:
            if self._times == 0:
                return "pass"
            if self._times is not None:
                self._times -= 1
            return self._fault

    # the proxy, on its own loop

    async def _listen(self) -> None:
        if self._server is not None:
            return
        self._server = await asyncio.start_server(
            self._serve, "127.0.0.1", self._port, limit=_LIMIT, reuse_address=True
        )
        self._port = self._server.sockets[0].getsockname()[1]

    async def _stop_listening(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        if server is not None:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        upstream: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        try:
            while (request := await _read_head(reader)) is not None:
                body = b"".join([piece async for piece in _body_pieces(reader, request)])
                method, target = request.start.split(" ")[:2]
                fault = self._take_fault()
                self.seen.append((method, target, fault))
                if fault == "stall":
                    await _until_closed(reader)
                    break
                if fault == "unavailable":
                    payload = b'{"error":"unavailable","reason":"injected by FaultProxy"}'
                    writer.write(
                        b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                        b"Retry-After: %b\r\nContent-Length: %d\r\n\r\n%b"
                        % (self.retry_after.encode(), len(payload), payload)
                    )
                    await writer.drain()
                    continue
                if upstream is None:
                    upstream = await asyncio.open_connection(*self.upstream, limit=_LIMIT)
                up_reader, up_writer = upstream
                up_writer.write(request.head + body)
                await up_writer.drain()
                if not await self._relay(method, fault, up_reader, reader, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError, OSError):
            pass
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
            if upstream is not None:
                upstream[1].transport.abort()

    async def _relay(
        self,
        method: str,
        fault: str,
        up_reader: asyncio.StreamReader,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Relay one answer (with its fault); False when the connection must end."""
        response = await _read_head(up_reader)
        if response is None:
            return False
        if fault == "reset":
            _abort(writer)
            return False
        status = int(response.start.split(" ")[1])
        no_body = method == "HEAD" or status in (204, 304)
        pieces = _body_pieces(up_reader, response, no_body)
        if fault == "truncate":
            raw = b"".join([piece async for piece in pieces])
            self._send_truncated(writer, response, _payload(raw, response.chunked))
            await writer.drain()
            return False
        writer.write(response.head)
        if fault in ("drop", "stall_body"):
            first = b""
            async for piece in pieces:
                first = piece
                break
            writer.write(first[: max(1, len(first) // 2)])
            await writer.drain()
            if fault == "stall_body":
                await _until_closed(reader)
            return False
        async for piece in pieces:
            writer.write(piece)
            await writer.drain()
        return not (response.header("connection") or "").lower() == "close"

    @staticmethod
    def _send_truncated(writer: asyncio.StreamWriter, response: _Message, payload: bytes) -> None:
        kept = [
            f"{name}: {value}\r\n"
            for name, value in response.headers
            if name.lower() not in ("content-length", "transfer-encoding", "connection")
        ]
        head = response.start + "\r\n" + "".join(kept) + "Transfer-Encoding: chunked\r\n\r\n"
        writer.write(head.encode("latin-1"))
        step = max(1, len(payload) // 4)
        chunks = [payload[i : i + step] for i in range(0, len(payload), step)] or [b"{"]
        for chunk in chunks[:-1]:
            writer.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
        last = chunks[-1]
        writer.write(b"%x\r\n%b" % (len(last), last[: max(1, len(last) // 2)]))
