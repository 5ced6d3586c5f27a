"""push and pull."""

from __future__ import annotations

from .base import DatabaseBase


class DatabaseReplicationMethods(DatabaseBase):
    """Mixed into ``Database``."""
