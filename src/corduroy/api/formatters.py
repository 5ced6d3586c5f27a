"""Show, list and update functions; design documents from files."""

from __future__ import annotations

from .base import DatabaseBase


class FormatterMethods(DatabaseBase):
    """Mixed into ``Database``."""
