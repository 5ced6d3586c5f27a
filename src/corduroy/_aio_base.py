"""What the generated classes of :mod:`corduroy.aio` share: the wrapped object, lifecycle."""

from __future__ import annotations

import inspect
from typing import Any, Generic, ParamSpec, Self, TypeVar

from .closing import Closing
from .couch import Couch

T = TypeVar("T")
P = ParamSpec("P")
S = TypeVar("S")


async def settled(result: Any) -> Any:
    """What a method typed ``Any`` gives: awaited if it is awaitable (most calls), else as is.

    ``db.changes(feed="continuous")`` returns an async iterator, not an awaitable.
    """
    if inspect.isawaitable(result):
        return await result
    return result


def unwrap(value: Any) -> Any:
    """The blocking-typed object under a ``corduroy.aio`` one (anything else as is)."""
    if isinstance(value, Wrapper):
        return value._sync
    return value


class Wrapper(Generic[S]):
    """Holds the blocking-typed object (``corduroy.Couch``, ``Database``, ``Partition``)
    whose methods a ``corduroy.aio`` object awaits."""

    __slots__ = ("_sync",)

    def __init__(self, sync: S) -> None:
        self._sync = sync

    @classmethod
    def wrap(cls, sync: S) -> Self:
        """``sync`` (a ``corduroy.Couch``, ``Database`` or ``Partition``) for typed async
        code: the same object underneath, the same connections."""
        wrapper = cls.__new__(cls)
        Wrapper.__init__(wrapper, sync)
        return wrapper

    @property
    def blocking(self) -> S:
        """The same object typed for blocking code (``corduroy.Couch``, ...)."""
        return self._sync

    def __repr__(self) -> str:
        return repr(self._sync)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Wrapper) and other._sync == self._sync

    def __hash__(self) -> int:
        return hash(self._sync)


class AsyncCouchBase(Wrapper[Couch], Closing):
    """``Wrapper`` of a ``corduroy.Couch``, with its lifecycle."""

    __slots__ = ()

    def close(self) -> None:
        """Close every pooled connection of this server, on every event loop."""
        self._sync.close()

    async def aclose(self) -> None:
        """Close every pooled connection, and wait until the running loop's are closed."""
        await self._sync.aclose()
