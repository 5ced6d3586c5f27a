"""Attachment operations against recorded CouchDB 3.4.3 exchanges, and the chunk streams."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from corduroy import Conflict, CouchError, Document, InvalidInput, NotFound, RangeNotSatisfiable
from corduroy.document import InlineData
from corduroy.drivers import drive_blocking, error_for, iterate_async
from corduroy.http.messages import Headers, Response
from corduroy.ops import attachments as ops
from corduroy.ops.base import dumps
from corduroy.ops.documents import DbRef, get_doc
from corduroy.ops.io import Close, Emit, Read, Streaming
from unit.test_formatters import _Conn, recorded, response_of, run

BLOB = bytes(range(256)) * 2  # what the recordings stored as blob.bin
NOTES = "0123456789abcdefghijklmnopqrstuvwxyz" * 3


def att(name: str) -> dict[str, Any]:
    return recorded("attachments")[name]


@pytest.fixture
def ref() -> DbRef:
    return DbRef("atts")


# -- uploads -------------------------------------------------------------------------


def test_put_text_updates_rev_and_adds_a_stub(ref: DbRef) -> None:
    doc = {"_id": "doc", "_rev": "1-ce58fce7f59f423f1b36aa4a98b56db6"}
    upload = ops.prepare_upload(NOTES, "notes.txt")
    request, result = run(ops.put_attachment(ref, doc, upload), att("att_put_text"))
    assert request.body == NOTES.encode()
    assert request.header("Content-Type") == "text/plain"
    assert result.rev == "2-7a25db7331ab34d6cf93fe8da388efc7"
    assert doc["_rev"] == result.rev
    stub = doc["_attachments"]["notes.txt"]  # type: ignore[index]
    assert stub == {
        "content_type": "text/plain",
        "digest": ops.prepare_upload(NOTES, "n").digest,
        "length": len(NOTES),
        "revpos": 2,
        "stub": True,
        "added": True,
    }


def test_put_binary_digest_matches_couchdbs(ref: DbRef) -> None:
    # CouchDB's stub for the uncompressed blob.bin (doc_get_stubs) has this digest
    stored = response_of(att("doc_get_stubs")).json()["_attachments"]["blob.bin"]
    upload = ops.prepare_upload(iter([BLOB[:100], BLOB[100:]]), "blob.bin")
    doc = {"_id": "doc", "_rev": "2-7a25db7331ab34d6cf93fe8da388efc7"}
    op = ops.put_attachment(ref, doc, upload)
    request = next(op)
    assert request.target == att("att_put_binary")["request"]["path"]
    assert not isinstance(request.body, bytes)  # an iterator: sent chunked
    assert b"".join(request.body) == BLOB  # type: ignore[arg-type]  # as the transport does
    with pytest.raises(StopIteration):
        op.send(response_of(att("att_put_binary")))
    assert upload.content_type == "application/octet-stream"
    assert doc["_attachments"]["blob.bin"]["digest"] == stored["digest"]  # type: ignore[index]
    assert doc["_attachments"]["blob.bin"]["length"] == stored["length"] == 512  # type: ignore[index]


def test_put_with_a_stale_rev_is_a_conflict(ref: DbRef) -> None:
    doc = {"_id": "doc", "_rev": "1-00000000000000000000000000000000"}
    upload = ops.prepare_upload(b"x", "other.txt")
    with pytest.raises(Conflict):
        run(ops.put_attachment(ref, doc, upload), att("att_put_stale_rev_409"))
    assert doc["_rev"] == "1-00000000000000000000000000000000"


def test_put_to_a_new_doc_needs_no_rev(ref: DbRef) -> None:
    request, result = run(
        ops.put_attachment(ref, "newdoc", ops.prepare_upload("hi", "hello.txt")),
        att("att_put_new_doc"),
    )
    assert request.query == ""
    assert result.ok


def test_put_name_with_slash_is_not_encoded(ref: DbRef) -> None:
    doc = {"_id": "inline", "_rev": "1-6937363f59a481fc7eee982e9a114d7a"}
    run(
        ops.put_attachment(ref, doc, ops.prepare_upload("nested", "dir/file.txt")),
        att("att_put_name_with_slash"),
    )
    assert "dir/file.txt" in doc["_attachments"]  # type: ignore[operator]


def test_put_unicode_name_is_utf8_percent_encoded(ref: DbRef) -> None:
    doc = {"_id": "inline", "_rev": "2-3826556d34318ceb3b7981b3fd909b8f"}
    upload = ops.prepare_upload("unicode name", "résumé ✓.txt", "text/plain; charset=utf-8")
    run(ops.put_attachment(ref, doc, upload), att("att_put_unicode_name"))


def test_file_objects_give_name_type_and_chunks(tmp_path: Any) -> None:
    path = tmp_path / "photo.png"
    path.write_bytes(b"\x89PNG" + bytes(200_000))
    with open(path, "rb") as file:
        upload = ops.prepare_upload(file)
        assert (upload.filename, upload.content_type) == ("photo.png", "image/png")
        assert not isinstance(upload.body, bytes)
        chunks = list(upload.body)  # type: ignore[arg-type]
    assert max(map(len, chunks)) <= ops.CHUNK_SIZE
    assert b"".join(chunks) == path.read_bytes()
    assert upload.length == 200_004


def test_text_files_and_str_chunks_are_sent_as_utf8() -> None:
    upload = ops.prepare_upload(io.StringIO("é" * 10), "x.csv")
    assert b"".join(upload.body) == "é".encode() * 10  # type: ignore[arg-type]
    assert upload.content_type == "text/csv"


def test_async_iterators_are_counted_as_they_go() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"ab"
        yield b"cd"

    upload = ops.prepare_upload(chunks(), "x.bin")

    async def drain() -> bytes:
        return b"".join([c async for c in upload.body])  # type: ignore[union-attr]

    assert asyncio.run(drain()) == b"abcd"
    assert upload.length == 4


@pytest.mark.parametrize(
    ("content", "filename"),
    [(b"x", None), (b"x", ""), (b"x", "a\nb"), (42, "x"), (iter([1]), "x")],
)
def test_bad_uploads_are_refused(content: Any, filename: Any) -> None:
    with pytest.raises(InvalidInput):
        upload = ops.prepare_upload(content, filename)
        list(upload.body)  # type: ignore[arg-type]


# -- downloads -----------------------------------------------------------------------


def test_get_returns_bytes_and_sends_accept_any(ref: DbRef) -> None:
    request, body = run(ops.get_attachment(ref, "doc", "blob.bin"), att("att_get_binary"))
    assert request.header("Accept") == "*/*"
    assert request.header("Range") is None
    assert body == BLOB


def test_get_by_doc_dict_and_old_rev(ref: DbRef) -> None:
    doc = {"_id": "doc", "_rev": "9-later"}
    op = ops.get_attachment(ref, doc, "notes.txt", rev="4-56305a45dbb925d7eead986893fe05e2")
    _, body = run(op, att("att_get_old_rev"))
    assert body == NOTES.encode()


@pytest.mark.parametrize("name", ["att_get_name_with_slash", "att_get_unicode_name"])
def test_get_names_with_slash_and_unicode(ref: DbRef, name: str) -> None:
    filename = "dir/file.txt" if "slash" in name else "résumé ✓.txt"
    _, body = run(ops.get_attachment(ref, "inline", filename), att(name))
    assert body in (b"nested", b"unicode name")


def test_missing_attachment_is_not_found(ref: DbRef) -> None:
    with pytest.raises(NotFound):
        run(ops.get_attachment(ref, "doc", "nope.txt"), att("att_get_missing_404"))


def test_resume_uses_range_and_couchdbs_206(ref: DbRef) -> None:
    request, body = run(
        ops.get_attachment(ref, "doc", "blob.bin", start=10), att("att_get_range_10_open")
    )
    assert request.header("Range") == "bytes=10-"
    assert body == BLOB[10:]


def test_resume_skips_locally_when_the_range_is_ignored(ref: DbRef) -> None:
    # CouchDB stores text/plain gzip-compressed and answers 200 with the whole body
    recording = att("att_get_range_on_compressed_text")
    recording = {**recording, "request": {**recording["request"]}}
    op = ops.get_attachment(ref, "doc", "notes.txt", start=10)
    _, body = run(op, recording)
    assert body == NOTES.encode()[10:]


def test_resume_past_the_end_is_range_not_satisfiable(ref: DbRef) -> None:
    with pytest.raises(RangeNotSatisfiable):
        run(
            ops.get_attachment(ref, "doc", "blob.bin", start=1000),
            att("att_get_range_unsatisfiable_416"),
        )


@pytest.mark.parametrize("name", ["att_get_range_multi", "att_get_range_0_9"])
def test_a_range_other_than_asked_is_an_error_not_wrong_data(ref: DbRef, name: str) -> None:
    with pytest.raises(CouchError, match="range"):
        run(ops.get_attachment(ref, "doc", "blob.bin", start=4), att(name))


def test_bad_start_is_refused(ref: DbRef) -> None:
    with pytest.raises(InvalidInput):
        next(ops.get_attachment(ref, "doc", "a", start=-1))


class FakeBody:
    """A response body on the wire that hands out at most ``step`` bytes per read."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self.data, self.step, self.closed, self.reads = data, step, 0, 0

    def read(self, n: int = -1) -> bytes:
        self.reads += 1
        size = min(n, self.step)
        piece, self.data = self.data[:size], self.data[size:]
        return piece

    def close(self) -> None:
        self.closed += 1


class FakeAsyncBody(FakeBody):
    async def read(self, n: int = -1) -> bytes:  # type: ignore[override]
        return FakeBody.read(self, n)

    async def aclose(self) -> None:
        self.close()


def streamed(ref: DbRef, body: Any, start: int | None = None, status: int = 200) -> Any:
    op = ops.get_attachment(ref, "doc", "blob.bin", stream=True, start=start)
    request = next(op)
    assert request.stream
    headers = Headers({"Content-Type": "application/octet-stream"})
    with pytest.raises(StopIteration) as done:
        op.send(Response(status, headers, stream=body))
    download = done.value.value
    assert isinstance(download, Streaming) and download.body is body
    return Finisher(download)


class Finisher:
    """Runs the rest of a streamed download the way each driver does (no connection needed:
    it only reads the body)."""

    def __init__(self, streaming: Streaming) -> None:
        self.streaming = streaming

    def finish_sync(self) -> Any:
        rest = self.streaming
        return rest.blocking(drive_blocking(rest.rest, None, streams=[rest.body]))  # type: ignore[arg-type]

    async def finish_async(self) -> Any:
        rest = self.streaming
        return rest.awaited(iterate_async(rest.rest, None, [rest.body]))  # type: ignore[arg-type]


def test_download_by_hand_reads_drops_the_skipped_bytes_and_emits_chunks() -> None:
    body = object()
    op = ops.download(body, skip=3)
    assert next(op) == Read(body, ops.CHUNK_SIZE)
    assert op.send(b"ab") == Read(body, ops.CHUNK_SIZE)  # all of it skipped
    assert op.send(b"cdef") == Emit([b"def"])
    assert op.send(None) == Read(body, ops.CHUNK_SIZE)
    assert op.send(b"") == Close(body)
    with pytest.raises(StopIteration):
        op.send(None)


def test_blocking_stream_yields_chunks_and_releases_at_the_end(ref: DbRef) -> None:
    body = FakeBody(BLOB)
    chunks = streamed(ref, body).finish_sync()
    assert isinstance(chunks, Iterator)
    assert chunks.content_type == "application/octet-stream"
    pieces = list(chunks)
    assert b"".join(pieces) == BLOB
    assert max(map(len, pieces)) == 7  # handed on as read, never gathered
    assert body.closed >= 1


def test_blocking_stream_skips_for_an_ignored_range_and_closes_early(ref: DbRef) -> None:
    body = FakeBody(BLOB)
    with streamed(ref, body, start=20).finish_sync() as chunks:
        first = next(chunks)
        assert first and BLOB[20:].startswith(first)
    assert body.closed == 1
    assert list(chunks) == []


def test_async_stream(ref: DbRef) -> None:
    body = FakeAsyncBody(BLOB)

    async def consume() -> tuple[bytes, bytes]:
        chunks = await streamed(ref, body, start=3).finish_async()
        first = await chunks.__anext__()
        async with chunks:
            rest = await chunks.read()
        return first, rest

    first, rest = asyncio.run(consume())
    assert first + rest == BLOB[3:]
    assert body.closed == 1


# -- delete --------------------------------------------------------------------------


def test_delete_updates_rev_and_drops_the_stub(ref: DbRef) -> None:
    doc = {
        "_id": "doc",
        "_rev": "4-56305a45dbb925d7eead986893fe05e2",
        "_attachments": {"notes.txt": {"stub": True}, "blob.bin": {"stub": True}},
    }
    run(ops.delete_attachment(ref, doc, "notes.txt"), att("att_delete"))
    assert doc["_rev"].startswith("5-")  # type: ignore[union-attr]
    assert list(doc["_attachments"]) == ["blob.bin"]  # type: ignore[call-overload]


def test_delete_needs_a_rev(ref: DbRef) -> None:
    with pytest.raises(InvalidInput):
        next(ops.delete_attachment(ref, {"_id": "doc"}, "blob.bin"))


def test_delete_with_stale_rev_conflicts(ref: DbRef) -> None:
    # recorded without a rev; corduroy always sends one, the answer is the same 409
    recording = att("att_delete_no_rev_409")
    op = ops.delete_attachment(ref, {"_id": "doc", "_rev": "1-x"}, "blob.bin")
    request = next(op)
    assert request.target == "/atts/doc/blob.bin?rev=1-x"
    response = response_of(recording)
    with pytest.raises(Conflict):
        op.throw(error_for(request, response, _Conn(), response.body))  # type: ignore[arg-type]


# -- inline attachments ----------------------------------------------------------------


def test_attach_encodes_base64_as_couchdb_expects() -> None:
    sent = att("doc_put_inline_attachment")["request"]["body"]
    doc = Document(title=sent.get("title")) if "title" in sent else Document()
    for name, info in sent["_attachments"].items():
        doc.attach(name, base64.b64decode(info["data"]), info["content_type"])
    assert doc["_attachments"] == sent["_attachments"]


def test_attach_guesses_the_type_and_encodes_str() -> None:
    doc = Document(_id="x")
    doc.attach("notes.txt", "héllo")
    doc.attach("blob", b"\x00")
    assert doc["_attachments"]["notes.txt"] == {
        "content_type": "text/plain",
        "data": base64.b64encode("héllo".encode()).decode(),
    }
    assert doc["_attachments"]["blob"]["content_type"] == "application/octet-stream"
    with pytest.raises(TypeError):
        doc.attach("n", 42)  # type: ignore[arg-type]


def test_get_with_attachments_decodes_and_saves_back_as_base64(ref: DbRef) -> None:
    recording = att("doc_get_attachments_true")
    op = get_doc(ref, "doc", attachments=True)
    next(op)
    with pytest.raises(StopIteration) as done:
        op.send(response_of(recording))
    doc = done.value.value
    stored = recording["response"]["body"]["_attachments"]
    for name, info in doc["_attachments"].items():
        assert isinstance(info["data"], InlineData)
        assert info["data"] == base64.b64decode(stored[name]["data"])
    assert json.loads(dumps(doc))["_attachments"] == stored


def test_plain_bytes_in_a_document_are_still_refused() -> None:
    with pytest.raises(InvalidInput):
        dumps({"_id": "x", "raw": b"\x00"})


def test_unexpected_range_in_stream_mode_closes_the_body_then_raises(ref: DbRef) -> None:
    body = object()
    headers = Headers({"Content-Range": "bytes 0-9/512"})
    op = ops.get_attachment(ref, "doc", "blob.bin", stream=True, start=4)
    next(op)
    assert op.send(Response(206, headers, stream=body)) == Close(body)  # type: ignore[arg-type]
    with pytest.raises(CouchError, match="range"):
        op.send(None)
