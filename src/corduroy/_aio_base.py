"""What the generated classes of :mod:`corduroy.aio` share: the wrapped object, lifecycle."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ParamSpec, Self, TypeVar, cast

if TYPE_CHECKING:
    from .couch import Couch
    from .database import Database

T = TypeVar("T")
P = ParamSpec("P")


def awaited(result: T) -> Awaitable[T]:
    """The awaitable a request method returns when called inside a running loop.

    ``Couch``/``Database`` are typed for the blocking convention; inside a
    running event loop the same call returns an awaitable of that result
    (DESIGN.md section 2), which is what ``corduroy.aio`` awaits.
    """
    return cast("Awaitable[T]", result)


def awaited_call(method: Callable[P, None], *args: P.args, **kwargs: P.kwargs) -> Awaitable[None]:
    """``awaited(method(*args, **kwargs))`` for a method typed as returning ``None``."""
    return cast("Awaitable[None]", method(*args, **kwargs))


async def settled(result: Any) -> Any:
    """What a method typed ``Any`` gives: awaited if it is awaitable (most calls), else as is.

    ``db.changes(feed="continuous")`` returns an async iterator, not an awaitable.
    """
    if inspect.isawaitable(result):
        return await result
    return result


def unwrap(value: Any) -> Any:
    """The blocking-typed object under a ``corduroy.aio`` one (anything else as is)."""
    if isinstance(value, AsyncCouchBase | AsyncDatabaseBase):
        return value._sync
    return value


class AsyncCouchBase:
    """Holds the ``corduroy.Couch`` whose methods a ``corduroy.aio.Couch`` awaits."""

    __slots__ = ("_sync",)

    def __init__(self, sync: Couch) -> None:
        self._sync = sync

    @classmethod
    def wrap(cls, sync: Couch) -> Self:
        """``couch`` (a ``corduroy.Couch``) for typed async code; the same connections."""
        wrapper = cls.__new__(cls)
        AsyncCouchBase.__init__(wrapper, sync)
        return wrapper

    @property
    def blocking(self) -> Couch:
        """The same server as a ``corduroy.Couch`` (same connections), for blocking code."""
        return self._sync

    def __repr__(self) -> str:
        return repr(self._sync)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AsyncCouchBase) and other._sync == self._sync

    def __hash__(self) -> int:
        return hash(self._sync)

    def close(self) -> None:
        """Close every pooled connection of this server, on every event loop."""
        self._sync.close()

    async def aclose(self) -> None:
        """Close every pooled connection, and wait until the running loop's are closed."""
        await self._sync.aclose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class AsyncDatabaseBase:
    """Holds the ``corduroy.Database`` whose methods a ``corduroy.aio.Database`` awaits."""

    __slots__ = ("_sync",)

    def __init__(self, sync: Database) -> None:
        self._sync = sync

    @classmethod
    def wrap(cls, sync: Database) -> Self:
        """``db`` (a ``corduroy.Database``) for typed async code; the same connections."""
        wrapper = cls.__new__(cls)
        AsyncDatabaseBase.__init__(wrapper, sync)
        return wrapper

    @property
    def blocking(self) -> Database:
        """The same database as a ``corduroy.Database``, for blocking code."""
        return self._sync

    def __repr__(self) -> str:
        return repr(self._sync)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AsyncDatabaseBase) and other._sync == self._sync

    def __hash__(self) -> int:
        return hash(self._sync)
