"""Views, _all_docs and Mango queries."""

from __future__ import annotations

from .base import DatabaseBase


class ViewMethods(DatabaseBase):
    """Mixed into ``Database``."""
