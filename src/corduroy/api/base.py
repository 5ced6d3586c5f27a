"""What every ``Database`` mixin relies on."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from ..drivers import Callback
from ..ops.base import Op
from ..ops.documents import DbRef

if TYPE_CHECKING:
    from ..couch import Couch

T = TypeVar("T")


class DatabaseBase:
    """The state a ``Database`` mixin may use: ``_ref``, ``couch``, ``_run``."""

    _ref: DbRef
    couch: Couch

    @property
    def name(self) -> str:
        """The database's name."""
        return self._ref.name

    def _run(self, op: Op[T], callback: Callback | None, call: str) -> T:
        raise NotImplementedError
