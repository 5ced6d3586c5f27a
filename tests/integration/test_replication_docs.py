"""The examples in docs/replication.md run and print what they show.

Every ```python block runs in one namespace (``couch``, and ``src``: a fresh database);
when a ```text block follows, the printed output must equal it.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from corduroy import Couch, Database
from docblocks import run_markdown

ROOT = Path(__file__).resolve().parents[2]
DOCS_CHANGES = ROOT / "docs" / "changes.md"
DOCS_REPLICATION = ROOT / "docs" / "replication.md"


def test_docs_replication(couch: Couch, tmp_db: Database) -> None:
    try:
        assert (
            run_markdown(
                DOCS_REPLICATION.read_text(encoding="utf-8"),
                {"couch": couch, "src": tmp_db},
                "replication.md",
            )
            == 3
        )
    finally:
        for suffix in ("-copy", "-other"):
            with contextlib.suppress(Exception):
                couch.delete(tmp_db.name + suffix)
