"""The examples in docs/replication.md run and print what they show.

Every ```python block runs in one namespace (``couch``, and ``src``: a fresh database);
when a ```text block follows, the printed output must equal it.
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path
from typing import Any

from corduroy import Couch, Database

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```(python|text)\n(.*?)```", re.S)


def run_markdown(path: Path, namespace: dict[str, Any]) -> int:
    """Run the doc's python blocks; returns how many outputs were compared."""
    blocks = BLOCK.findall(path.read_text(encoding="utf-8"))
    compared = 0
    for i, (kind, code) in enumerate(blocks):
        if kind != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"<{path.name} block {i}>", "exec"), namespace)
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        if following is not None and following[0] == "text":
            assert out.getvalue() == following[1], code
            compared += 1
    return compared


def test_docs_replication(couch: Couch, tmp_db: Database) -> None:
    try:
        assert run_markdown(ROOT / "docs" / "replication.md", {"couch": couch, "src": tmp_db}) == 3
    finally:
        for suffix in ("-copy", "-other"):
            with contextlib.suppress(Exception):
                couch.delete(tmp_db.name + suffix)
