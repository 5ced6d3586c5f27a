"""``ChangesResult``: the answer of a normal or longpoll ``_changes`` request.

Its own module so that the operation that makes it (``corduroy.ops.changes``)
and the feeds (``corduroy.changes``, which run operations) both import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, overload

from .document import AttrDict

__all__ = ["ChangesResult"]


class ChangesResult:
    """The answer of a normal or longpoll ``_changes`` request.

    ``results`` (one ``AttrDict`` per change: ``seq``, ``id``, ``changes``,
    ``deleted``, ``doc``), ``last_seq`` (opaque: pass it back as ``since``)
    and ``pending`` (changes after ``last_seq``; ``None`` on servers that do
    not say). They read as attributes and, like CouchDB's answer, as keys
    (``res["results"]``, ``res["last_seq"]``, ``res.get("pending")``).
    Iterating, ``len()`` and ``res[0]`` go through the changes.
    """

    __slots__ = ("last_seq", "pending", "results")

    #: the members of CouchDB's answer
    _KEYS = ("results", "last_seq", "pending")

    def __init__(self, results: list[AttrDict], last_seq: Any, pending: int | None) -> None:
        self.results = results
        self.last_seq = last_seq
        self.pending = pending

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[AttrDict]:
        return iter(self.results)

    @overload
    def __getitem__(self, index: int) -> AttrDict: ...

    @overload
    def __getitem__(self, index: slice) -> list[AttrDict]: ...

    @overload
    def __getitem__(self, index: str) -> Any: ...

    def __getitem__(self, index: int | slice | str) -> Any:
        if isinstance(index, str):
            if index not in self._KEYS:
                raise KeyError(index)
            return getattr(self, index)
        return self.results[index]

    def get(self, key: str, default: Any = None) -> Any:
        """``results``, ``last_seq`` or ``pending`` by name, as on CouchDB's answer."""
        return getattr(self, key) if key in self._KEYS else default

    def keys(self) -> tuple[str, ...]:
        return self._KEYS

    def __contains__(self, item: object) -> bool:
        if isinstance(item, str):
            return item in self._KEYS
        return item in self.results

    def __repr__(self) -> str:
        return f"<Changes: {len(self.results)} results, last_seq {self.last_seq!r}>"
