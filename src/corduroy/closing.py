"""``Closing``: ``with`` and ``async with`` for an object that holds connections.

A class defines ``close()`` and ``aclose()``; the mixin gives it the four
context-manager methods, each returning the object itself.
"""

from __future__ import annotations

from typing import Self

__all__ = ["Closing"]


class Closing:
    """``with x:`` calls ``x.close()`` at the end, ``async with x:`` awaits ``x.aclose()``."""

    __slots__ = ()

    def close(self) -> None:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
