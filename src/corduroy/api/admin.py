"""Database administration: security, compaction, revs_diff, bulk_get."""

from __future__ import annotations

from .base import DatabaseBase


class DatabaseAdminMethods(DatabaseBase):
    """Mixed into ``Database``."""
