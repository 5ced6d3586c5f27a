"""The _changes feed and follow()."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..drivers import Callback, callback_given
from ..ops import changes as ops
from ..ops.replication import traits_for
from .base import DatabaseBase

if TYPE_CHECKING:
    from ..changes import ChangesResult, Follower
    from ..document import AttrDict


class ChangesMethods(DatabaseBase):
    """Mixed into ``Database``."""

    def changes(
        self,
        *,
        callback: Callback | Callable[[Any, list[AttrDict]], Any] | None = None,
        feed: str | None = None,
        latency: float = 1.0,
        on_error: Callable[[BaseException], Any] | None = None,
        **options: Any,
    ) -> Any:
        """The database's changes.

        Normal and longpoll feeds (``feed="longpoll"``) answer a
        ``ChangesResult`` (``results``, ``last_seq``, ``pending``) in the call's
        convention. Options: ``since`` (an opaque seq from an earlier answer,
        ``0`` or ``"now"``), ``limit``, ``descending``, ``include_docs``,
        ``conflicts``, ``style="all_docs"``, ``heartbeat``, ``timeout`` (ms),
        ``filter`` (``"ddoc/name"``, with any extra keyword passed to the filter
        as a query parameter), ``doc_ids=[...]``, ``selector={...}``,
        ``view="ddoc/view"`` (each implies its built-in filter).

        ``feed="continuous"`` with ``callback=listener`` returns a running
        ``ChangesFeed`` that calls ``listener(last_seq, changes)`` at most every
        ``latency`` seconds, reconnecting as needed; a terminal error calls
        ``on_error(exc)``. Without a callback it returns an iterator: ``for
        change in db.changes(feed="continuous")`` (blocking) or ``async for``
        inside an event loop.
        """
        if feed == "continuous":
            from ..changes import ChangesFeed
            from ..changes_stream import ContinuousChanges

            if callback_given(callback):
                return ChangesFeed(self, options, callback, latency=latency, on_error=on_error)  # type: ignore[arg-type]
            return ContinuousChanges(self, options)  # type: ignore[arg-type]
        if feed is not None:
            options["feed"] = feed
        traits = traits_for(self.couch._conn)
        op = ops.changes(self._ref, traits, **options)
        result: ChangesResult = self._run(op, callback, "Database.changes")  # type: ignore[arg-type]
        return result

    def follow(
        self,
        handler: Callable[[AttrDict], Any],
        checkpoint: str,
        *,
        every: int = 100,
        interval: float = 5.0,
        on_error: Callable[[BaseException], Any] | None = None,
        **options: Any,
    ) -> Follower:
        """Handle every change with ``handler(change)``, remembering how far it got.

        The seq of the last change handled is stored in ``_local/<checkpoint>``
        every ``every`` changes or ``interval`` seconds and on ``stop()``; a new
        follower with the same checkpoint resumes there, so a restarted process
        goes on where it left off. At least once: changes handled after the last
        save are handled again after a crash. ``handler`` may be ``async``.
        Runs on the calling thread's event loop (``await follower.wait()``; in
        blocking code ``follower.run()``). Options as for ``changes``.
        """
        from ..changes import Follower

        return Follower(
            self,  # type: ignore[arg-type]
            handler,
            checkpoint,
            every=every,
            interval=interval,
            on_error=on_error,
            options=options,
        )
