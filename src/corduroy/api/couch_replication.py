"""Replication on ``Couch``: replicate, and watching replications."""

from __future__ import annotations

from .server import ServerMethods


class CouchReplicationMethods(ServerMethods):
    """Mixed into ``Couch``."""
