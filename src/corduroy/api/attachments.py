"""Attachments, streamed both ways."""

from __future__ import annotations

from collections.abc import AsyncIterable, Mapping, MutableMapping
from typing import Any

from ..document import AttrDict
from ..drivers import Callback, in_running_loop
from ..errors import InvalidInput
from ..ops import attachments as ops
from .base import DatabaseBase


class AttachmentMethods(DatabaseBase):
    """Mixed into ``Database``."""

    def put_attachment(
        self,
        doc: MutableMapping[str, Any] | str,
        content: Any,
        filename: str | None = None,
        content_type: str | None = None,
        *,
        callback: Callback | None = None,
    ) -> AttrDict:
        """Add or replace an attachment of ``doc`` (a dict with ``_id``/``_rev``, or an id).

        ``content`` is ``bytes``, ``str`` (sent as UTF-8), a file object (read
        in chunks; name and type guessed from its ``name``), or an iterator of
        chunks, or an async iterator of chunks when called in a running event
        loop: both are sent with chunked transfer, never held in memory whole.
        The type is guessed from ``filename`` unless ``content_type`` is given.
        A dict gets its new ``_rev`` and a stub for the attachment in place, so
        saving it later keeps the attachment. A missing document is created.
        Returns ``{ok, id, rev}``.
        """
        if isinstance(content, AsyncIterable) and callback is None and not in_running_loop():
            raise InvalidInput(
                "an async iterator of chunks can only be uploaded from a running event loop "
                "(await the call, or pass callback=); in blocking code pass bytes, a file "
                "or a plain iterator"
            )
        upload = ops.prepare_upload(content, filename, content_type)
        return self._run(
            ops.put_attachment(self._ref, doc, upload), callback, "Database.put_attachment"
        )

    def get_attachment(
        self,
        doc: Mapping[str, Any] | str,
        filename: str,
        *,
        stream: bool = False,
        start: int | None = None,
        rev: str | None = None,
        accept: str = "*/*",
        callback: Callback | None = None,
    ) -> Any:
        """The attachment ``filename`` of ``doc`` (a dict or an id).

        Returns ``bytes``. With ``stream=True`` the body is not held in memory:
        the result is an iterator of chunks (``AttachmentChunks``; an async
        iterator, ``AsyncAttachmentChunks``, inside an event loop) that keeps
        its connection until the last chunk is read or it is closed (use it in
        ``with`` / ``async with``). ``start`` resumes a download at that byte
        offset (``Range``; where the server ignores it, the bytes before
        ``start`` are skipped on the client). ``rev`` reads an older revision.
        Raises ``NotFound`` if the document or the attachment is missing.
        """
        op = ops.get_attachment(
            self._ref, doc, filename, stream=stream, start=start, rev=rev, accept=accept
        )
        return self._run(op, callback, "Database.get_attachment")

    def delete_attachment(
        self,
        doc: MutableMapping[str, Any],
        filename: str,
        *,
        callback: Callback | None = None,
    ) -> AttrDict:
        """Remove attachment ``filename`` from ``doc`` (a dict with ``_id`` and ``_rev``).

        The dict gets its new ``_rev`` and loses the attachment's stub. A stale
        ``_rev`` raises ``Conflict``. (CouchDB answers ``NotFound`` for an
        attachment that does not exist; pouchdb-server makes a new revision.)
        """
        return self._run(
            ops.delete_attachment(self._ref, doc, filename), callback, "Database.delete_attachment"
        )
