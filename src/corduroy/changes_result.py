"""``ChangesResult``: the answer of a normal or longpoll ``_changes`` request.

Its own module so that the operation that makes it (``corduroy.ops.changes``)
and the feeds (``corduroy.changes``, which run operations) both import it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .document import AttrDict

__all__ = ["ChangesResult"]


class ChangesResult:
    """The answer of a normal or longpoll ``_changes`` request.

    ``results`` (one ``AttrDict`` per change: ``seq``, ``id``, ``changes``,
    ``deleted``, ``doc``), ``last_seq`` (opaque: pass it back as ``since``)
    and ``pending`` (changes after ``last_seq``; ``None`` on servers that do
    not say). Iterable and sized like its ``results``.
    """

    __slots__ = ("last_seq", "pending", "results")

    def __init__(self, results: list[AttrDict], last_seq: Any, pending: int | None) -> None:
        self.results = results
        self.last_seq = last_seq
        self.pending = pending

    def __len__(self) -> int:
        return len(self.results)

    def __iter__(self) -> Iterator[AttrDict]:
        return iter(self.results)

    def __getitem__(self, index: int) -> AttrDict:
        return self.results[index]

    def __repr__(self) -> str:
        return f"<Changes: {len(self.results)} results, last_seq {self.last_seq!r}>"
