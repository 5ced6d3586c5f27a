"""Conflict handling beyond save: leaf conflicts, copy, revisions, purge."""

from __future__ import annotations

from .base import DatabaseBase


class ConflictMethods(DatabaseBase):
    """Mixed into ``Database``."""
