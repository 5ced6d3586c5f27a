"""Attachments against the live server: uploads and downloads, streamed, in every convention."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from conventions import CONVENTIONS, call
from corduroy import Database, Document, InvalidInput, NotFound, Status, relax
from corduroy.document import InlineData
from corduroy.ops.attachments import AsyncAttachmentChunks, AttachmentChunks

BINARY = bytes(range(256)) * 300  # every byte value, 76.8 kB: several chunks

NAMES = ["dir/sub/file.txt", "résumé ✓.txt", "a+b c?&#.bin", "日本語/ファイル"]


def _new(db: Database, docid: str) -> dict[str, Any]:
    doc: dict[str, Any] = {"_id": docid, "kind": "holder"}
    db.save(doc)
    return doc


async def _drain(chunks: Any) -> bytes:
    assert isinstance(chunks, AsyncAttachmentChunks)
    async with chunks:
        return b"".join([chunk async for chunk in chunks])


def download(convention: str, db: Database, doc: Any, name: str, **options: Any) -> bytes:
    """``get_attachment(..., stream=True)`` read to the end in ``convention``."""
    if convention == "blocking":
        with db.get_attachment(doc, name, stream=True, **options) as chunks:
            assert isinstance(chunks, AttachmentChunks)
            return b"".join(chunks)
    if convention == "await":

        async def awaited() -> bytes:
            return await _drain(await db.get_attachment(doc, name, stream=True, **options))

        return asyncio.run(awaited())
    if convention == "relax":

        @relax
        def relaxed() -> Any:
            chunks = yield db.get_attachment(doc, name, stream=True, **options)
            data = yield _drain(chunks)
            return data

        result: bytes = asyncio.run(relaxed())
        return result

    async def with_callback() -> bytes:
        delivered: asyncio.Future[tuple[Any, Status]] = asyncio.get_running_loop().create_future()
        db.get_attachment(
            doc, name, stream=True, callback=lambda d, s: delivered.set_result((d, s)), **options
        )
        data, status = await delivered
        if not status.ok:
            raise status.exception  # type: ignore[misc]
        return await _drain(data)

    return asyncio.run(with_callback())


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_binary_round_trip_updates_the_doc_in_place(tmp_db: Database, convention: str) -> None:
    doc = _new(tmp_db, "bin")
    first_rev = doc["_rev"]
    result = call(convention, lambda **kw: tmp_db.put_attachment(doc, BINARY, "all.bin", **kw))
    assert result.ok
    assert doc["_rev"] == result.rev != first_rev
    assert call(convention, lambda **kw: tmp_db.get_attachment(doc, "all.bin", **kw)) == BINARY
    assert download(convention, tmp_db, "bin", "all.bin") == BINARY
    stored = tmp_db.get("bin")["_attachments"]["all.bin"]
    assert stored["length"] == len(BINARY)
    assert stored["content_type"] == "application/octet-stream"
    assert stored["digest"] == doc["_attachments"]["all.bin"]["digest"]
    stub = doc["_attachments"]["all.bin"]  # the stub written into the dict, as the original's
    assert stub["stub"] is stub["added"] is True and stub["length"] == len(BINARY)
    assert stub["content_type"] == "application/octet-stream"
    doc["kind"] = "saved with the stub"
    call(convention, lambda **kw: tmp_db.save(doc, **kw))
    assert tmp_db.get_attachment("bin", "all.bin") == BINARY


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_unicode_and_slash_names(tmp_db: Database, convention: str) -> None:
    doc = _new(tmp_db, "named")
    for i, name in enumerate(NAMES):
        data = f"content {i}".encode()

        def put(name: str = name, data: bytes = data, **kw: Any) -> Any:
            return tmp_db.put_attachment(doc, data, name, "text/plain", **kw)

        call(convention, put)
        got = call(convention, lambda name=name, **kw: tmp_db.get_attachment("named", name, **kw))
        assert got == data
    assert sorted(tmp_db.get("named")["_attachments"]) == sorted(NAMES)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_delete_attachment(tmp_db: Database, convention: str) -> None:
    doc = _new(tmp_db, "del")
    tmp_db.put_attachment(doc, b"one", "one.txt")
    tmp_db.put_attachment(doc, b"two", "two.txt")
    rev = doc["_rev"]
    call(convention, lambda **kw: tmp_db.delete_attachment(doc, "one.txt", **kw))
    assert doc["_rev"] != rev
    assert list(doc["_attachments"]) == ["two.txt"]
    with pytest.raises(NotFound):
        tmp_db.get_attachment("del", "one.txt")
    assert list(tmp_db.get("del")["_attachments"]) == ["two.txt"]


def test_saving_the_doc_afterwards_keeps_its_attachments(tmp_db: Database) -> None:
    doc = _new(tmp_db, "keep")
    tmp_db.put_attachment(doc, BINARY, "all.bin")
    tmp_db.put_attachment(doc, "notes", "notes.txt")
    doc["kind"] = "edited"
    tmp_db.save(doc)
    assert tmp_db.get_attachment("keep", "all.bin") == BINARY
    assert tmp_db.get_attachment("keep", "notes.txt") == b"notes"


def test_file_objects_give_name_and_type(tmp_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "chart.png"
    path.write_bytes(b"\x89PNG\r\n" + BINARY)
    doc = _new(tmp_db, "files")
    with open(path, "rb") as file:
        tmp_db.put_attachment(doc, file)
    stub = tmp_db.get("files")["_attachments"]["chart.png"]
    assert stub["content_type"] == "image/png"
    assert tmp_db.get_attachment(doc, "chart.png") == path.read_bytes()


def test_iterator_upload_is_sent_chunked(tmp_db: Database) -> None:
    def chunks() -> Iterator[bytes]:
        for start in range(0, len(BINARY), 1000):
            yield BINARY[start : start + 1000]

    tmp_db.put_attachment("new-doc", chunks(), "gen.bin")  # creates the document
    assert tmp_db.get_attachment("new-doc", "gen.bin") == BINARY


async def _async_chunks() -> AsyncIterator[bytes]:
    for start in range(0, len(BINARY), 4096):
        await asyncio.sleep(0)
        yield BINARY[start : start + 4096]


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_async_iterator_upload(tmp_db: Database, convention: str) -> None:
    doc = _new(tmp_db, "agen")
    if convention == "blocking":
        chunks = _async_chunks()
        with pytest.raises(InvalidInput, match="running event loop"):
            tmp_db.put_attachment(doc, chunks, "a.bin")
        asyncio.run(chunks.aclose())
        return
    call(convention, lambda **kw: tmp_db.put_attachment(doc, _async_chunks(), "a.bin", **kw))
    assert tmp_db.get_attachment(doc, "a.bin") == BINARY


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_inline_attachments_round_trip(tmp_db: Database, convention: str) -> None:
    doc = Document(_id="inline", title="small")
    doc.attach("hello.txt", "hello, wörld")
    doc.attach("tiny.bin", b"\x00\xff\x10")
    call(convention, lambda **kw: tmp_db.save(doc, **kw))
    got = call(convention, lambda **kw: tmp_db.get("inline", attachments=True, **kw))
    data = got["_attachments"]["tiny.bin"]["data"]
    assert isinstance(data, InlineData) and data == b"\x00\xff\x10"
    assert got["_attachments"]["hello.txt"]["data"] == "hello, wörld".encode()
    got["title"] = "saved again"
    tmp_db.save(got)  # the decoded data goes back as base64
    assert tmp_db.get_attachment("inline", "hello.txt") == "hello, wörld".encode()
    assert tmp_db.get("inline")["_attachments"]["tiny.bin"]["length"] == 3


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_resume_from_an_offset(tmp_db: Database, convention: str) -> None:
    doc = _new(tmp_db, "resume")
    tmp_db.put_attachment(doc, BINARY, "all.bin")
    got = call(convention, lambda **kw: tmp_db.get_attachment(doc, "all.bin", start=1000, **kw))
    assert got == BINARY[1000:]
    assert download(convention, tmp_db, doc, "all.bin", start=70_000) == BINARY[70_000:]


def test_streams_closed_early_give_their_connection_back(tmp_db: Database) -> None:
    doc = _new(tmp_db, "early")
    tmp_db.put_attachment(doc, BINARY * 4, "big.bin")
    for _ in range(30):  # more than any pool holds: a leak would block or fail
        with tmp_db.get_attachment(doc, "big.bin", stream=True) as chunks:
            assert next(chunks)
    assert tmp_db.get("early")["_id"] == "early"

    async def early_async() -> None:
        for _ in range(30):
            chunks = await tmp_db.get_attachment(doc, "big.bin", stream=True)
            async with chunks:
                assert await chunks.__anext__()
        assert (await tmp_db.get("early"))["_id"] == "early"

    asyncio.run(early_async())


def test_missing_attachment_is_not_found(tmp_db: Database) -> None:
    _new(tmp_db, "plain")
    with pytest.raises(NotFound):
        tmp_db.get_attachment("plain", "nothing.txt")
    with pytest.raises(NotFound):
        download("blocking", tmp_db, "plain", "nothing.txt")


@pytest.mark.real_couchdb
def test_couchdb_serves_the_range_itself(tmp_db: Database) -> None:
    doc = _new(tmp_db, "ranged")
    tmp_db.put_attachment(doc, BINARY, "all.bin")  # octet-stream: stored uncompressed
    with tmp_db.get_attachment(doc, "all.bin", stream=True, start=1000) as chunks:
        assert chunks.headers["Content-Range"] == f"bytes 1000-{len(BINARY) - 1}/{len(BINARY)}"
        assert b"".join(chunks) == BINARY[1000:]


@pytest.mark.real_couchdb
def test_couchdb_deleting_a_missing_attachment_is_not_found(tmp_db: Database) -> None:
    doc = _new(tmp_db, "nothing-here")
    with pytest.raises(NotFound):
        tmp_db.delete_attachment(doc, "missing.txt")


# -- 10 MB both ways, in constant memory ---------------------------------------------

ROUND_TRIP = r"""
import asyncio, json, os, random, resource, sys
from corduroy import Couch

SIZE, CHUNK = 10 * 1024 * 1024, 64 * 1024
mode = sys.argv[1]
db = Couch(os.environ["CORDUROY_TEST_SERVER"])[os.environ["CORDUROY_TEST_DB"]]

def chunks():
    rnd = random.Random(1978)
    for _ in range(SIZE // CHUNK):
        yield rnd.randbytes(CHUNK)

async def async_chunks():
    for chunk in chunks():
        yield chunk

class Checker:
    # compares what arrives with what was sent, byte for byte, as it arrives
    def __init__(self):
        self.expected, self.pending, self.seen, self.equal = chunks(), b"", 0, True
    def feed(self, data):
        while len(self.pending) < len(data):
            self.pending += next(self.expected, b"") or b"\0" * (len(data) + 1)
        self.equal &= self.pending[:len(data)] == data
        self.pending, self.seen = self.pending[len(data):], self.seen + len(data)

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

doc = {"_id": "big-" + mode}
check = Checker()
if mode == "blocking":
    db.put_attachment(doc, b"warm-up", "small.bin")
    with db.get_attachment(doc, "small.bin", stream=True) as warm:
        b"".join(warm)
    before = peak()
    db.put_attachment(doc, chunks(), "big.bin")
    with db.get_attachment(doc, "big.bin", stream=True) as got:
        for data in got:
            check.feed(data)
else:
    async def main():
        await db.put_attachment(doc, b"warm-up", "small.bin")
        async with await db.get_attachment(doc, "small.bin", stream=True) as warm:
            [c async for c in warm]
        before = peak()
        await db.put_attachment(doc, async_chunks(), "big.bin")
        async with await db.get_attachment(doc, "big.bin", stream=True) as got:
            async for data in got:
                check.feed(data)
        return before
    before = asyncio.run(main())
print(json.dumps({"growth": peak() - before, "seen": check.seen, "equal": check.equal,
                  "left": len(check.pending) + sum(map(len, check.expected))}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["blocking", "await"])
def test_ten_megabytes_round_trip_in_constant_memory(
    tmp_db: Database, couchdb_url: str, mode: str
) -> None:
    env = {**os.environ, "CORDUROY_TEST_SERVER": couchdb_url, "CORDUROY_TEST_DB": tmp_db.name}
    run = subprocess.run(
        [sys.executable, "-c", ROUND_TRIP, mode],
        env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    outcome = json.loads(run.stdout)
    assert outcome["seen"] == 10 * 1024 * 1024
    assert outcome["equal"] and outcome["left"] == 0
    assert outcome["growth"] < 20 * 1024 * 1024, f"peak RSS grew {outcome['growth']} bytes"
    stub = tmp_db.get(f"big-{mode}")["_attachments"]["big.bin"]
    assert stub["length"] == 10 * 1024 * 1024
