"""``Partition``: one partition of a partitioned database (CouchDB 3)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from .document import AttrDict
from .drivers import Callback, callback_given
from .errors import InvalidInput
from .ops import partitions as ops

if TYPE_CHECKING:
    from ._calls import PartitionCalls  # the callback= overloads (tools/gen_surface.py)
    from .database import Database
    from .rowstream import RowStream
    from .views import FindResult, View
else:

    class PartitionCalls:
        pass


__all__ = ["Partition"]


def _refuse_stream_with_callback(stream: bool, callback: object) -> None:
    if stream and callback_given(callback):
        raise InvalidInput("stream=True is for `for`/`async for`, not callback=")


class PartitionMethods:
    """The request methods of ``Partition``."""

    db: Database
    key: str

    def info(self, *, callback: Callback | None = None) -> AttrDict:
        """``doc_count``, ``doc_del_count`` and ``sizes`` of the partition."""
        return self.db._run(ops.partition_info(self.db._ref, self.key), callback, "Partition.info")

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
        """The partition's documents by id (``include_docs``, ``limit``, ``startkey``, ...);
        ``stream=True`` returns a ``RowStream`` as ``Database.view`` does."""
        _refuse_stream_with_callback(stream, callback)
        op = ops.partition_all_docs(self.db._ref, self.key, stream=stream, **options)
        return self.db._run(op, callback, "Partition.all_docs")

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
        """Query the partitioned view ``name`` (``"ddoc/view"``) within the partition;
        ``stream=True`` returns a ``RowStream`` as ``Database.view`` does."""
        _refuse_stream_with_callback(stream, callback)
        op = ops.partition_view(self.db._ref, self.key, name, stream=stream, **options)
        return self.db._run(op, callback, "Partition.view")

    def find(
        self, selector: Mapping[str, Any], *, callback: Callback | None = None, **options: Any
    ) -> FindResult:
        """Mango query within the partition (``fields``, ``sort``, ``limit``, ...)."""
        op = ops.partition_find(self.db._ref, self.key, selector, **options)
        # the driver finishes the FoundStream the op returns into a FindResult
        return cast("FindResult", self.db._run(op, callback, "Partition.find"))

    def explain(
        self, selector: Mapping[str, Any], *, callback: Callback | None = None, **options: Any
    ) -> AttrDict:
        """How the server would run ``find(selector)`` in this partition."""
        return self.db._run(
            ops.partition_explain(self.db._ref, self.key, selector, **options),
            callback,
            "Partition.explain",
        )


# The methods are typed for the blocking convention; PartitionCalls adds to each an overload
# for callback= (returning the RequestReplica).
class Partition(PartitionCalls, PartitionMethods):  # type: ignore[misc]
    """The documents of ``db`` whose ids start with ``key:``.

    Made by ``db.partition(key)`` without any request. Queries run within the
    partition only, which is what makes them cheap on a cluster. Every method
    takes ``callback=`` and follows the three calling conventions.
    """

    def __init__(self, db: Database, key: str) -> None:
        ops.partition_path(db._ref, key)  # refuses a bad key now, not at the first query
        self.db = db
        self.key = key

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Partition) and (other.db, other.key) == (self.db, self.key)

    def __hash__(self) -> int:
        return hash((self.db, self.key))

    def __repr__(self) -> str:
        return f"<Partition {self.db.name!r}/{self.key!r}>"
