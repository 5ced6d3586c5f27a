"""Show, list and update functions; design documents from files."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from ..design import design_doc
from ..drivers import Callback
from ..ops import formatters as ops
from ..ops.formatters import FormatterResponse
from .base import DatabaseBase


class FormatterMethods(DatabaseBase):
    """Mixed into ``Database``."""

    def show(
        self,
        name: str,
        id: str | None = None,
        *,
        accept: str = "*/*",
        callback: Callback | None = None,
        **query: Any,
    ) -> FormatterResponse:
        """Format a document with show function ``name`` (``"designdoc/show"``).

        ``id`` is the document (``None`` runs the function with ``doc = null``);
        keyword arguments become ``req.query``. ``accept`` is the ``Accept``
        header, by which a function using ``provides()`` picks its format.
        Returns a ``FormatterResponse`` (``code``, ``headers``, ``body``); an
        error status raises the matching ``HTTPError``.
        """
        return self._run(ops.show(self._ref, name, id, accept, **query), callback, "Database.show")

    def list(
        self,
        name: str,
        view: str,
        *,
        accept: str = "*/*",
        callback: Callback | None = None,
        **options: Any,
    ) -> FormatterResponse:
        """Format a view's rows with list function ``name`` (``"designdoc/list"``).

        ``view`` is a view of the same design document (``"byname"``) or of
        another one (``"otherdoc/byname"``). View options (``key``, ``keys``,
        ``startkey``, ``endkey``, ``limit``, ``skip``, ``descending``,
        ``group``, ``reduce``, ``include_docs``, ...) filter the rows first;
        other keyword arguments reach the function in ``req.query``.
        """
        return self._run(
            ops.list_view(self._ref, name, view, accept, **options), callback, "Database.list"
        )

    def update(
        self,
        name: str,
        id: str | None = None,
        body: Mapping[str, Any] | str | bytes | None = None,
        *,
        accept: str = "*/*",
        content_type: str | None = None,
        callback: Callback | None = None,
        **query: Any,
    ) -> FormatterResponse:
        """Call update handler ``name`` (``"designdoc/update"``).

        With an ``id`` the handler gets that document (``PUT``; ``null`` if it
        does not exist yet), without one ``doc`` is ``null`` (``POST``). A dict
        ``body`` is form-encoded and arrives in ``req.form``; a ``str`` or
        ``bytes`` body arrives as it is in ``req.body`` (``content_type``
        overrides the Content-Type). If the handler saved a document, the
        response's ``id`` and ``rev`` say which and at what revision.
        """
        return self._run(
            ops.update(self._ref, name, id, body, accept, content_type, **query),
            callback,
            "Database.update",
        )

    def sync_design(
        self,
        source: Mapping[str, Any] | str | os.PathLike[str],
        name: str | None = None,
        *,
        callback: Callback | None = None,
    ) -> bool:
        """Write a design document from a dict or a couchapp-style folder of ``.js`` files.

        The folder layout is ``views/NAME/map.js`` (and ``reduce.js``),
        ``shows/NAME.js``, ``lists/NAME.js``, ``updates/NAME.js``,
        ``filters/NAME.js`` and ``validate_doc_update.js``; the document is
        ``_design/<folder name>`` unless ``name`` (or an ``_id`` file or key)
        says otherwise. It is written only when it differs from the stored one;
        returns whether it was.
        """
        doc = design_doc(source, name)
        return self._run(ops.sync_design(self._ref, doc), callback, "Database.sync_design")
