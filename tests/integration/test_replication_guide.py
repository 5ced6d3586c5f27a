"""examples/guide_replication.py prints what the guide's "Replication" section prints."""

from __future__ import annotations

import contextlib
import io
import uuid

from corduroy import Couch
from docblocks import load_example


def test_guide_replication_example(couch: Couch, couchdb_url: str) -> None:
    example = load_example("guide_replication")
    prefix = f"corduroy-test-{uuid.uuid4().hex[:8]}-"
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            example.main(couch, prefix, couchdb_url)
    finally:
        for name in ("olddb", "newdb", "localdb", "remotedb"):
            with contextlib.suppress(Exception):
                couch.delete(prefix + name)
    assert out.getvalue().splitlines() == [
        "True 2",
        "['local-edit', 'remote-edit']",
        "{",
        '  "_replication_state": "completed"',
        "}",
        "completed True",  # not the repr: "0 docs written" on pouchdb-server, 1 on CouchDB 3
        "completed",
    ]
    assert couchdb_url.split("@")[0].split(":")[-1] not in out.getvalue()  # no password
