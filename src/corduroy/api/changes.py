"""The _changes feed and follow()."""

from __future__ import annotations

from .base import DatabaseBase


class ChangesMethods(DatabaseBase):
    """Mixed into ``Database``."""
