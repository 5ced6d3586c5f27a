"""The examples in docs/changes.md run and print what they show.

Every ```python block runs in one namespace (``db``: a fresh database); when a ```text
block follows, the printed output must equal it.
"""

from __future__ import annotations

from pathlib import Path

from corduroy import Database
from docblocks import run_markdown

ROOT = Path(__file__).resolve().parents[2]
DOCS_CHANGES = ROOT / "docs" / "changes.md"
DOCS_REPLICATION = ROOT / "docs" / "replication.md"


def test_docs_changes(tmp_db: Database) -> None:
    assert run_markdown(DOCS_CHANGES.read_text(encoding="utf-8"), {"db": tmp_db}, "changes.md") == 7
