"""Server administration on ``Couch``: config, stats, users, sessions, membership."""

from __future__ import annotations

from .server import ServerMethods


class CouchAdminMethods(ServerMethods):
    """Mixed into ``Couch``."""
