"""Views, _all_docs and Mango queries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal, cast, overload

from ..document import AttrDict
from ..drivers import Callback, callback_given, drive_blocking, in_running_loop, iterate_async
from ..errors import InvalidInput
from ..ops import mango
from ..ops import views as ops
from ..ops.io import Job
from ..ops.query import query as query_op
from ..ops.query import query_cleanup as query_cleanup_op
from ..ops.replication import traits_for
from ..rowstream import RowStream
from ..views import FindResult, View
from .base import DatabaseBase

__all__ = ["PagedDocs", "PagedRows", "ViewMethods"]


class _Pager:
    """Hands out what a paging operation emits: ``for`` (blocking) or ``async for``."""

    def __init__(self, db: DatabaseBase, what: str) -> None:
        self._db = db
        self._what = what

    def _operation(self) -> Job[None]:
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        if in_running_loop():
            raise RuntimeError(
                f"`for` over {self._what} would block the running event loop; use `async for`"
            )
        return drive_blocking(self._operation(), self._db.couch._conn)

    async def __aiter__(self) -> AsyncIterator[Any]:
        items = iterate_async(self._operation(), self._db.couch._conn)
        try:
            async for item in items:
                yield item
        finally:  # also when the loop is left early: the pages' connection goes back
            await items.aclose()


class PagedRows(_Pager):
    """``db.iterview(...)``: the rows of a view, fetched ``batch`` at a time."""

    def __init__(self, db: DatabaseBase, name: str, batch: int, options: dict[str, Any]) -> None:
        super().__init__(db, f"iterview({name!r})")
        if batch < 1:
            raise InvalidInput(f"batch must be at least 1, not {batch}")
        ops.view_path(db._ref, name)  # refuses a bad name now
        self._name, self._batch, self._options = name, batch, options

    def _operation(self) -> Job[None]:
        return ops.view_pages(self._db._ref, self._name, self._batch, self._options)


class PagedDocs(_Pager):
    """``db.iterfind(...)``: the documents of a Mango query, fetched ``batch`` at a time."""

    def __init__(self, db: DatabaseBase, batch: int, body: dict[str, Any]) -> None:
        super().__init__(db, "iterfind()")
        if batch < 1:
            raise InvalidInput(f"batch must be at least 1, not {batch}")
        self._batch, self._body = batch, body

    def _operation(self) -> Job[None]:
        return mango.find_pages(self._db._ref, self._batch, self._body)


class ViewMethods(DatabaseBase):
    """Mixed into ``Database``."""

    @overload
    def view(
        self,
        name: str,
        *,
        callback: Callback | None = None,
        stream: Literal[False] = False,
        **options: Any,
    ) -> View: ...

    @overload
    def view(
        self, name: str, *, callback: Callback | None = None, stream: Literal[True], **options: Any
    ) -> RowStream: ...

    @overload
    def view(
        self, name: str, *, callback: Callback | None = None, stream: bool, **options: Any
    ) -> View | RowStream: ...

    def view(
        self, name: str, *, callback: Callback | None = None, stream: bool = False, **options: Any
    ) -> View | RowStream:
        """Query a view: ``"ddoc/view"``, ``"_design/ddoc/_view/view"`` or ``"_all_docs"``.

        Options (CouchDB's): ``key``, ``keys`` (sent in a POST), ``startkey``/
        ``endkey`` (or ``start_key``/``end_key``), ``startkey_docid``,
        ``endkey_docid``, ``inclusive_end``, ``include_docs``, ``limit``,
        ``skip``, ``descending``, ``stale``, ``update``, ``stable``,
        ``update_seq``, ``reduce``, ``group``, ``group_level``, ``conflicts``,
        ``sorted``; keys are sent as JSON.

        Returns a ``View``, a read-only sequence of ``Row`` (blocking: its rows
        are read on first use and kept). ``stream=True`` returns a ``RowStream``
        instead, to go through once with ``for`` or ``async for`` in constant
        memory (not with ``callback=``).
        """
        if stream and callback_given(callback):
            raise InvalidInput(
                "stream=True is for `for`/`async for`; with callback= the View comes "
                "with its rows read (leave stream out, or use db.iterview)"
            )
        op = ops.query_view(self._ref, name, stream=stream, **options)
        return self._run(op, callback, "Database.view")

    @overload
    def all_docs(
        self, *, callback: Callback | None = None, stream: Literal[False] = False, **options: Any
    ) -> View: ...

    @overload
    def all_docs(
        self, *, callback: Callback | None = None, stream: Literal[True], **options: Any
    ) -> RowStream: ...

    @overload
    def all_docs(
        self, *, callback: Callback | None = None, stream: bool, **options: Any
    ) -> View | RowStream: ...

    def all_docs(
        self, *, callback: Callback | None = None, stream: bool = False, **options: Any
    ) -> View | RowStream:
        """``_all_docs``: every document's id and rev (``include_docs=True`` for the docs).

        A ``View``; ``stream=True`` returns a ``RowStream`` as in :meth:`view`.
        """
        if stream and callback_given(callback):
            raise InvalidInput("stream=True is for `for`/`async for`, not callback=")
        op = ops.query_view(self._ref, "_all_docs", stream=stream, **options)
        return self._run(op, callback, "Database.all_docs")

    @overload
    def query(
        self,
        map_src: str,
        reduce_src: str | None = None,
        *,
        language: str = "javascript",
        design: bool | None = None,
        cleanup: bool = False,
        callback: Callback | None = None,
        stream: Literal[False] = False,
        **options: Any,
    ) -> View: ...

    @overload
    def query(
        self,
        map_src: str,
        reduce_src: str | None = None,
        *,
        language: str = "javascript",
        design: bool | None = None,
        cleanup: bool = False,
        callback: Callback | None = None,
        stream: Literal[True],
        **options: Any,
    ) -> RowStream: ...

    @overload
    def query(
        self,
        map_src: str,
        reduce_src: str | None = None,
        *,
        language: str = "javascript",
        design: bool | None = None,
        cleanup: bool = False,
        callback: Callback | None = None,
        stream: bool,
        **options: Any,
    ) -> View | RowStream: ...

    def query(
        self,
        map_src: str,
        reduce_src: str | None = None,
        *,
        language: str = "javascript",
        design: bool | None = None,
        cleanup: bool = False,
        callback: Callback | None = None,
        stream: bool = False,
        **options: Any,
    ) -> View | RowStream:
        """Run map (and reduce) functions saved nowhere; the view options as for ``view``.

        Where the server has temporary views (pouchdb-server, CouchDB 1.x) they
        are used. CouchDB 2+ has none: there the functions are saved in a design
        document named by their hash, ``_design/corduroy-query-<hash>``, created
        on first use (which needs the right to write design documents, and builds
        the index once) and reused while it exists. ``cleanup=True`` deletes it
        after the query; ``query_cleanup()`` deletes them all. ``design=True``
        always uses a design document, ``design=False`` only ``_temp_view``.
        ``stream=True`` returns a ``RowStream`` as in :meth:`view`.
        """
        if stream and callback_given(callback):
            raise InvalidInput("stream=True is for `for`/`async for`, not callback=")
        op = query_op(
            self._ref, traits_for(self.couch._conn), map_src, reduce_src, language,
            design=design, cleanup=cleanup, stream=stream, **options,
        )  # fmt: skip
        return self._run(op, callback, "Database.query")

    def query_cleanup(self, *, callback: Callback | None = None) -> int:
        """Delete the design documents ``query()`` saved here; returns how many."""
        return self._run(query_cleanup_op(self._ref), callback, "Database.query_cleanup")

    def iterview(self, name: str, batch: int = 1000, **options: Any) -> PagedRows:
        """Every row of a view, fetched ``batch`` rows per request, in constant memory.

        ``for row in db.iterview(...)`` blocks; ``async for`` awaits. Pages
        follow each other by key and doc id, so duplicate keys are safe; with
        ``keys`` the keys are sent ``batch`` at a time. ``limit`` and ``skip``
        apply to the whole iteration.
        """
        return PagedRows(self, name, batch, options)

    def find(
        self,
        selector: Mapping[str, Any],
        fields: Sequence[str] | None = None,
        sort: Sequence[Any] | None = None,
        limit: int | None = None,
        skip: int | None = None,
        use_index: str | Sequence[str] | None = None,
        bookmark: str | None = None,
        execution_stats: bool = False,
        *,
        callback: Callback | None = None,
        **extra: Any,
    ) -> FindResult:
        """A Mango query (``_find``): a list of ``Document`` with ``bookmark``,
        ``warning`` and (``execution_stats=True``) ``execution_stats``.

        ``extra``: other ``_find`` fields (``r``, ``conflicts``, ``update``,
        ``stable``, ``allow_fallback``).
        """
        op = mango.find(
            self._ref, selector, fields=fields, sort=sort, limit=limit, skip=skip,
            use_index=use_index, bookmark=bookmark, execution_stats=execution_stats, **extra,
        )  # fmt: skip
        # the driver finishes the FoundStream the op returns into a FindResult
        return cast(FindResult, self._run(op, callback, "Database.find"))

    def iterfind(
        self,
        selector: Mapping[str, Any],
        fields: Sequence[str] | None = None,
        sort: Sequence[Any] | None = None,
        limit: int | None = None,
        skip: int | None = None,
        use_index: str | Sequence[str] | None = None,
        batch: int = 1000,
        **extra: Any,
    ) -> PagedDocs:
        """Every document a Mango query matches, ``batch`` per request (``for`` or
        ``async for``). Pages by ``bookmark``, or by ``skip`` on servers without
        bookmarks (pouchdb-server)."""
        body = mango.find_body(
            selector, fields=fields, sort=sort, limit=limit, skip=skip, use_index=use_index,
            **extra,
        )  # fmt: skip
        return PagedDocs(self, batch, body)

    def index(
        self,
        fields: Sequence[Any],
        name: str | None = None,
        ddoc: str | None = None,
        *,
        callback: Callback | None = None,
        **extra: Any,
    ) -> AttrDict:
        """Create a Mango index: ``{result: "created" | "exists", id, name}``.

        ``extra``: ``type``, ``partial_filter_selector``, ``partitioned``.
        """
        return self._run(
            mango.create_index(self._ref, fields, name, ddoc, **extra), callback, "Database.index"
        )

    def indexes(self, *, callback: Callback | None = None) -> list[AttrDict]:
        """The database's Mango indexes (``ddoc``, ``name``, ``type``, ``def``)."""
        return self._run(mango.list_indexes(self._ref), callback, "Database.indexes")

    def delete_index(
        self,
        ddoc: str | Mapping[str, Any],
        name: str | None = None,
        type: str = "json",
        *,
        callback: Callback | None = None,
    ) -> AttrDict:
        """Delete a Mango index, given its design doc and name, or an entry of ``indexes()``."""
        return self._run(
            mango.delete_index(self._ref, ddoc, name, type), callback, "Database.delete_index"
        )

    def explain(
        self, selector: Mapping[str, Any], *, callback: Callback | None = None, **options: Any
    ) -> AttrDict:
        """How the server would answer ``find(selector, **options)`` (``_explain``)."""
        return self._run(
            mango.explain(self._ref, selector, **options), callback, "Database.explain"
        )

    def compact(self, ddoc: str | None = None, *, callback: Callback | None = None) -> AttrDict:
        """Compact the database, or with ``ddoc`` that design document's view index."""
        return self._run(ops.compact(self._ref, ddoc), callback, "Database.compact")

    def cleanup(self, *, callback: Callback | None = None) -> AttrDict:
        """Remove view index files that no design document uses (``_view_cleanup``)."""
        return self._run(ops.cleanup(self._ref), callback, "Database.cleanup")
