"""Replication on ``Couch``: replicate, and watching replications."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from ..drivers import Callback
from ..errors import InvalidInput
from ..ops import replication as ops
from ..ops.base import Op
from .base import DatabaseBase
from .server import ServerMethods

if TYPE_CHECKING:
    from ..connection import Connection
    from ..database import Database
    from ..document import AttrDict
    from ..replication import ReplicationStatus


def _db_endpoint(conn: Connection, name: str) -> ops.Endpoint:
    return ops.Endpoint(conn.base_url + quote(name, safe=""), conn.username, conn.url.password)


class CouchReplicationMethods(ServerMethods):
    """Mixed into ``Couch``."""

    _conn: Connection

    def _endpoint(self, where: Database | str) -> ops.Endpoint:
        if isinstance(where, DatabaseBase):  # a Database
            return _db_endpoint(where.couch._conn, where.name)
        if isinstance(where, str) and where:
            if "://" in where:
                return ops.Endpoint.from_url(where)
            return _db_endpoint(self._conn, where)
        raise InvalidInput(f"a replication endpoint is a Database, a url or a name, not {where!r}")

    def replicate(
        self,
        source: Database | str,
        target: Database | str,
        *,
        callback: Callback | None = None,
        **options: Any,
    ) -> AttrDict:
        """Replicate ``source`` into ``target`` (each a ``Database``, a url, or a
        database name on this server).

        Options: ``continuous``, ``create_target``, ``doc_ids``, ``filter`` with
        ``query_params``, ``selector``, ``since_seq``, ``cancel`` (with the same
        arguments, stops a continuous replication). A one-shot replication
        answers when it is done; ``continuous=True`` answers at once. With
        ``_id="name"`` a ``_replicator`` document is written instead (watch it
        with ``replication("name")``). Credentials of the endpoints travel in
        the request body only (as ``Authorization`` headers on CouchDB 2+).
        """
        return self._run(self._replicate_op(source, target, options), callback, "Couch.replicate")

    def _replicate_op(
        self, source: Database | str, target: Database | str, options: dict[str, Any]
    ) -> Op[AttrDict]:
        return ops.replicate(
            ops.traits_for(self._conn), self._endpoint(source), self._endpoint(target), **options
        )

    def _replication_op(self, docid: str, replicator: str) -> Op[ReplicationStatus]:
        from ..replication import ReplicationStatus, parse_status

        scheduler, doc = yield from ops.replication_status(
            ops.traits_for(self._conn), docid, replicator
        )
        state, info, error = parse_status(docid, scheduler, doc)
        return ReplicationStatus(
            docid,
            state,
            info,
            error=error,
            raw=scheduler or doc,
            couch=self,  # type: ignore[arg-type]
            replicator=replicator,
        )

    def replication(
        self, docid: str, *, replicator: str = "_replicator", callback: Callback | None = None
    ) -> ReplicationStatus:
        """The state and progress of the replication of ``_replicator`` document ``docid``.

        From ``/_scheduler/docs`` on CouchDB 2+, from the document itself on
        1.x-style servers (pouchdb-server). ``NotFound`` if there is no such
        document. ``.wait()`` on the answer polls until it completes.
        """
        return self._run(self._replication_op(docid, replicator), callback, "Couch.replication")
