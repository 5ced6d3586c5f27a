"""The examples in docs/conflicts.md and README's recipe run and print what they show.

Each ```python block runs in one shared namespace with ``db`` a fresh database;
when a ```text block follows it, the block's output must equal that text. A
block marked ``(needs CouchDB 2+)`` runs only against a real CouchDB.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

from corduroy import Database

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.S)
NEEDS_COUCHDB = "(needs CouchDB 2+)"


def examples(text: str) -> list[tuple[str, str | None]]:
    """(code, expected output or None) for every python block of a Markdown text."""
    blocks = BLOCK.findall(text)
    found: list[tuple[str, str | None]] = []
    for i, (kind, body) in enumerate(blocks):
        if kind != "python":
            continue
        after = blocks[i + 1] if i + 1 < len(blocks) else None
        found.append((body, after[1] if after and after[0] == "text" else None))
    return found


def run(code: str, namespace: dict[str, Any]) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "<docs>", "exec"), namespace)
    return out.getvalue()


def run_all(text: str, db: Database, real_couchdb: bool) -> int:
    namespace: dict[str, Any] = {"db": db}
    checked = 0
    for code, expected in examples(text):
        if NEEDS_COUCHDB in code and not real_couchdb:
            continue
        output = run(code, namespace)
        if expected is not None:
            assert output == expected, code
            checked += 1
    return checked


def is_real_couchdb(db: Database) -> bool:
    return "couchdb" in db.couch.info()


def test_docs_conflicts_examples(tmp_db: Database) -> None:
    text = (ROOT / "docs" / "conflicts.md").read_text(encoding="utf-8")
    assert run_all(text, tmp_db, is_real_couchdb(tmp_db)) >= 7


def test_readme_recipe(tmp_db: Database) -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Conflicts", 1)[1].split("\n## ", 1)[0]
    assert run_all(section, tmp_db, False) == 1
