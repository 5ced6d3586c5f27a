"""Attachments: uploaded and downloaded as streams of chunks, or inline in documents.

Uploads are one standalone ``PUT /db/doc/name?rev=`` whose body is bytes or
chunks sent with chunked transfer encoding (never multipart/related). While
the chunks go out their MD5 and length are counted, so the document dict can
get a correct attachment stub: saving that dict later keeps the attachment.

Downloads send the caller's ``Accept`` (``*/*`` by default). With
``stream=True`` the body stays on the connection and the result is an
iterator of chunks read by the driver (see :func:`download`). A ``start`` offset asks
for ``Range: bytes=start-``; when the server ignores it (pouchdb-server
always, CouchDB for attachments it stores compressed) the skipped bytes are
dropped on the client, so the result is the same either way.
"""

from __future__ import annotations

import base64
import hashlib
import mimetypes
import os
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Generator,
    Iterable,
    Iterator,
    Mapping,
    MutableMapping,
)
from typing import TYPE_CHECKING, Any

from ..document import AttrDict, InlineData
from ..errors import CouchError, InvalidInput
from ..http.messages import Body, Headers, Request
from .base import Op, query_string, validate_id
from .io import Close, Emit, Job, Read, Streaming

if TYPE_CHECKING:
    from .documents import DbRef

__all__ = [
    "CHUNK_SIZE",
    "AsyncAttachmentChunks",
    "AttachmentChunks",
    "Upload",
    "decode_inline",
    "delete_attachment",
    "download",
    "get_attachment",
    "guess_type",
    "prepare_upload",
    "put_attachment",
]

#: bytes read from a file, or from the connection, at a time
CHUNK_SIZE = 64 * 1024

_DEFAULT_TYPE = "application/octet-stream"


def guess_type(filename: str, default: str = _DEFAULT_TYPE) -> str:
    """The media type a file name suggests (``notes.txt`` -> ``text/plain``)."""
    guessed = mimetypes.guess_type(filename, strict=False)[0]
    return guessed or default


class Upload:
    """An attachment body on its way out; counts its length and MD5 as it is sent."""

    __slots__ = ("_md5", "body", "content_type", "filename", "length")

    def __init__(self, filename: str, content_type: str) -> None:
        self.filename = filename
        self.content_type = content_type
        self.length = 0
        self._md5 = hashlib.md5(usedforsecurity=False)
        self.body: Body = None

    def _count(self, data: bytes) -> bytes:
        self.length += len(data)
        self._md5.update(data)
        return data

    @property
    def digest(self) -> str:
        """``md5-<base64>``, as CouchDB writes an attachment's digest."""
        return "md5-" + base64.b64encode(self._md5.digest()).decode("ascii")

    def _chunks(self, chunks: Iterable[bytes | str]) -> Iterator[bytes]:
        for chunk in chunks:
            yield self._count(_as_bytes(chunk))

    async def _async_chunks(self, chunks: AsyncIterable[bytes | str]) -> AsyncIterator[bytes]:
        async for chunk in chunks:
            yield self._count(_as_bytes(chunk))


def _as_bytes(chunk: Any) -> bytes:
    if isinstance(chunk, bytes):
        return chunk
    if isinstance(chunk, str):
        return chunk.encode("utf-8")
    if isinstance(chunk, bytearray | memoryview):
        return bytes(chunk)
    raise InvalidInput(f"attachment chunks must be bytes or str, not {type(chunk).__name__}")


def _read_file(file: Any) -> Iterator[bytes | str]:
    while True:
        data = file.read(CHUNK_SIZE)
        if not data:
            return
        yield data


def prepare_upload(
    content: Any, filename: str | None = None, content_type: str | None = None
) -> Upload:
    """Check ``content`` and work out the attachment's name, type and body.

    ``content`` may be ``bytes``, ``str`` (sent as UTF-8), a file object read
    in chunks (its name and type are guessed from ``file.name``), or an
    iterator or async iterator of chunks (sent with chunked transfer).
    """
    is_text = isinstance(content, str)
    if filename is None and hasattr(content, "read"):
        name = getattr(content, "name", None)
        if isinstance(name, str | bytes) and not isinstance(name, int):
            filename = os.path.basename(os.fsdecode(name))
    if not filename:
        raise InvalidInput("put_attachment needs a filename (none could be taken from the content)")
    validate_id(filename, "attachment name")
    if content_type is None:
        default = "text/plain;charset=utf-8" if is_text else _DEFAULT_TYPE
        content_type = guess_type(filename, default)
    upload = Upload(filename, content_type)
    if isinstance(content, bytes | bytearray | memoryview | str):
        upload.body = upload._count(_as_bytes(content))
    elif hasattr(content, "read"):
        upload.body = upload._chunks(_read_file(content))
    elif isinstance(content, AsyncIterable):
        upload.body = upload._async_chunks(content)
    elif isinstance(content, Iterable):
        upload.body = upload._chunks(content)
    else:
        raise InvalidInput(
            "attachment content must be bytes, str, a file object or an iterator of chunks, "
            f"not {type(content).__name__}"
        )
    return upload


def _doc_id_rev(doc: Any) -> tuple[str, str | None]:
    if isinstance(doc, Mapping):
        return validate_id(doc.get("_id")), doc.get("_rev")
    return validate_id(doc), None


def put_attachment(db: DbRef, doc: Any, upload: Upload, rev: str | None = None) -> Op[AttrDict]:
    """``PUT /db/doc/name?rev=``: add or replace one attachment.

    ``doc`` is a dict with ``_id`` (and ``_rev`` once it exists) or an id; a
    dict gets the new ``_rev`` and a stub for the attachment in place.
    """
    docid, doc_rev = _doc_id_rev(doc)
    response = yield Request(
        "PUT",
        db.doc_path(docid, upload.filename),
        query_string({"rev": rev or doc_rev}),
        (("Content-Type", upload.content_type),),
        upload.body,
    )
    result = AttrDict(response.json())
    new_rev = result.get("rev")
    if isinstance(doc, MutableMapping) and isinstance(new_rev, str):
        doc["_rev"] = new_rev
        stubs = dict.get(doc, "_attachments") if isinstance(doc, dict) else doc.get("_attachments")
        if not isinstance(stubs, MutableMapping):
            stubs = {}
            doc["_attachments"] = stubs
        stubs[upload.filename] = {
            "content_type": upload.content_type,
            "digest": upload.digest,
            "length": upload.length,
            "revpos": int(new_rev.split("-", 1)[0]),
            "stub": True,
            "added": True,  # as the original corduroy marked a stub it wrote itself
        }
    return result


def delete_attachment(db: DbRef, doc: Any, filename: str, rev: str | None = None) -> Op[AttrDict]:
    """``DELETE /db/doc/name?rev=``; a dict gets the new ``_rev`` and loses the stub."""
    docid, doc_rev = _doc_id_rev(doc)
    validate_id(filename, "attachment name")
    rev = rev or doc_rev
    if not rev:
        raise InvalidInput(f"deleting an attachment of {docid!r} needs the document's _rev")
    response = yield Request("DELETE", db.doc_path(docid, filename), query_string({"rev": rev}))
    result = AttrDict(response.json())
    new_rev = result.get("rev")
    if isinstance(doc, MutableMapping) and isinstance(new_rev, str):
        doc["_rev"] = new_rev
        stubs = doc.get("_attachments")
        if isinstance(stubs, MutableMapping):
            stubs.pop(filename, None)
    return result


class AttachmentChunks(Iterator[bytes]):
    """A download read chunk by chunk (blocking); holds a connection until done.

    Iterate over it, or ``read()`` it whole. The connection goes back to the
    pool when the last chunk has been read; ``close()`` (or leaving a ``with``
    block) ends the download early.
    """

    def __init__(self, chunks: Generator[bytes, None, None], headers: Headers) -> None:
        self.headers = headers
        self._chunks: Generator[bytes, None, None] | None = chunks  # the blocking driver's

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def __iter__(self) -> AttachmentChunks:
        return self

    def __next__(self) -> bytes:
        if self._chunks is None:
            raise StopIteration
        try:
            return next(self._chunks)
        except StopIteration:
            self._chunks = None
            raise

    def read(self) -> bytes:
        """Everything not read yet."""
        return b"".join(self)

    def close(self) -> None:
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            chunks.close()  # the driver lets the body go

    def __enter__(self) -> AttachmentChunks:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        self.close()

    def __repr__(self) -> str:
        closed = "" if self._chunks is not None else " closed"
        return f"<AttachmentChunks {self.content_type or '?'}{closed}>"


class AsyncAttachmentChunks(AsyncIterator[bytes]):
    """A download read chunk by chunk on the event loop: ``async for chunk in it``.

    The connection goes back to the pool after the last chunk; ``await
    aclose()`` (or leaving an ``async with`` block) ends the download early.
    """

    def __init__(self, chunks: Any, headers: Headers) -> None:
        self.headers = headers
        self._chunks: Any = chunks  # the asyncio driver's async iterator

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")

    def __aiter__(self) -> AsyncAttachmentChunks:
        return self

    async def __anext__(self) -> bytes:
        if self._chunks is None:
            raise StopAsyncIteration
        try:
            data = await self._chunks.__anext__()
        except StopAsyncIteration:
            self._chunks = None
            raise
        assert isinstance(data, bytes)
        return data

    async def read(self) -> bytes:
        """Everything not read yet."""
        return b"".join([chunk async for chunk in self])

    async def aclose(self) -> None:
        chunks, self._chunks = self._chunks, None
        if chunks is not None:
            await chunks.aclose()

    async def __aenter__(self) -> AsyncAttachmentChunks:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        closed = "" if self._chunks is not None else " closed"
        return f"<AsyncAttachmentChunks {self.content_type or '?'}{closed}>"


def download(body: Any, skip: int = 0) -> Job[None]:
    """The chunks of a streamed download, one ``Emit`` each, the first ``skip`` bytes dropped."""
    while True:
        data = yield Read(body, CHUNK_SIZE)
        if not data:
            yield Close(body)  # at its end a body lets its connection go: this only says so
            return
        if skip:
            dropped = min(skip, len(data))
            skip -= dropped
            data = data[dropped:]
        if data:
            yield Emit([data])


def _streaming(body: Any, headers: Headers, skip: int = 0) -> Streaming:
    return Streaming(
        download(body, skip),
        body,
        lambda chunks: AttachmentChunks(chunks, headers),
        lambda chunks: AsyncAttachmentChunks(chunks, headers),
    )


def _range_skip(status: int, headers: Mapping[str, str], start: int) -> int:
    """How many leading bytes of the body to drop for a download from ``start``."""
    if not start:
        return 0
    if status == 206:
        content_range = headers.get("content-range", "")
        unit, _, spec = content_range.partition(" ")
        first = spec.partition("-")[0]
        if unit != "bytes" or not first.isdigit() or int(first) != start:
            raise CouchError(f"the server sent range {content_range!r}, not bytes {start}-")
        return 0
    return start  # the server ignored Range and sent the whole attachment


def get_attachment(
    db: DbRef,
    doc: Any,
    filename: str,
    *,
    stream: bool = False,
    start: int | None = None,
    rev: str | None = None,
    accept: str = "*/*",
) -> Job[Any]:
    """``GET /db/doc/name``: the attachment's bytes, or (``stream=True``) its chunks as the
    caller reads them (``AttachmentChunks``, or ``AsyncAttachmentChunks`` when awaited).

    ``start`` resumes a download at that byte offset.
    """
    docid = _doc_id_rev(doc)[0]
    validate_id(filename, "attachment name")
    if start is not None and (not isinstance(start, int) or start < 0):
        raise InvalidInput(f"start must be a byte offset >= 0, not {start!r}")
    headers: tuple[tuple[str, str], ...] = (("Accept", accept),)
    if start:
        headers += (("Range", f"bytes={start}-"),)
    response = yield Request(
        "GET", db.doc_path(docid, filename), query_string({"rev": rev}), headers, stream=stream
    )
    try:
        skip = _range_skip(response.status, response.headers, start or 0)
    except CouchError:
        if stream:
            yield Close(response.stream)
        raise
    if not stream:
        return response.body[skip:] if skip else response.body
    return _streaming(response.stream, response.headers, skip)


def decode_inline(doc: Mapping[str, Any]) -> None:
    """Turn the base64 ``data`` of inline attachments (``attachments=True``) into bytes.

    The bytes are :class:`~corduroy.document.InlineData`, which is sent back as
    base64 when the document is saved again.
    """
    stubs = dict.get(doc, "_attachments") if isinstance(doc, dict) else None
    if not isinstance(stubs, dict):
        return
    for info in stubs.values():
        if isinstance(info, dict) and isinstance(info.get("data"), str):
            info["data"] = InlineData(base64.b64decode(info["data"]))
