"""The guide's "Replication" section, in Python 3.

    python examples/guide_replication.py [server-url]

``main(couch, prefix)`` prints what the guide prints, using databases named
``<prefix>olddb``, ``<prefix>newdb``, ``<prefix>localdb`` and ``<prefix>remotedb``.
"""

from __future__ import annotations

import json
import sys

from corduroy import Couch


def main(couch: Couch, prefix: str = "", server_url: str | None = None) -> None:
    """``server_url``: the server's url with credentials, for the hand-written
    ``_replicator`` document (the replicator logs in to the endpoints itself)."""
    server_url = (server_url or couch.url).rstrip("/") + "/"
    old = couch.db(prefix + "olddb", create_if_missing=True)
    old.save([{"_id": "ollie"}, {"_id": "jamie"}])

    # To copy an existing database, pass the source and target names (or urls)
    result = couch.replicate(prefix + "olddb", prefix + "newdb", create_target=True)
    print(result.ok, couch[prefix + "newdb"].info().doc_count)

    # push and pull: one-way, like their version-control namesakes
    local_db = couch.db(prefix + "localdb", create_if_missing=True)
    remote_db = couch.db(prefix + "remotedb", create_if_missing=True)
    local_db.save({"_id": "local-edit"})
    remote_db.save({"_id": "remote-edit"})
    local_db.push(remote_db)
    local_db.pull(remote_db)
    print(sorted(row.id for row in local_db.changes()))

    # named replications live in the _replicator database, which behaves like any other
    repl = {
        "_id": prefix + "local-to-remote",
        "source": server_url + prefix + "localdb",
        "target": server_url + prefix + "remotedb",
    }
    couch.replicator.save(repl)
    status = couch.replication(repl["_id"]).wait(timeout=60)  # polls until completed
    repl_doc = couch.replicator.get(repl["_id"])
    print(json.dumps({"_replication_state": repl_doc["_replication_state"]}, indent=2))
    print(status.state, status.done)  # its counts differ between servers: CouchDB 3 says 1 doc
    couch.replicator.delete(repl_doc)

    # the _id= keyword writes such a document for you (credentials included)
    local_db.push(remote_db, _id=prefix + "local-to-remote-2")
    print(couch.replication(prefix + "local-to-remote-2").wait(timeout=60).state)
    couch.replicator.delete(couch.replicator.get(prefix + "local-to-remote-2"))


if __name__ == "__main__":
    main(Couch(sys.argv[1] if len(sys.argv) > 1 else None))
