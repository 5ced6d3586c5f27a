"""examples/guide_changes.py prints what the guide's "Change Notifications" section prints."""

from __future__ import annotations

import contextlib
import io
import re

from corduroy import Database
from docblocks import load_example


def test_guide_changes_example(tmp_db: Database) -> None:
    example = load_example("guide_changes")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        example.main(tmp_db)
    lines = out.getvalue().splitlines()
    seq = r"\S+"  # an int on pouchdb-server, an opaque string on CouchDB 2+
    assert re.fullmatch(seq, lines[0])
    assert re.fullmatch(rf"seq: {seq} \(20 changes\)", lines[1])
    assert re.fullmatch(rf"seq: {seq} \(5 changes\)", lines[2])
    batches = [re.fullmatch(rf"(\d+) changes, up to seq ({seq})", line) for line in lines[3:-1]]
    assert batches and all(batches)
    assert sum(int(m.group(1)) for m in batches if m) >= 6
    assert re.fullmatch(rf"<ChangesFeed '{tmp_db.name}' stopped, last_seq {seq}>", lines[-1])
