"""Attachments, streamed both ways."""

from __future__ import annotations

from .base import DatabaseBase


class AttachmentMethods(DatabaseBase):
    """Mixed into ``Database``."""
