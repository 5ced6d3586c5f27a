"""docs/reliability.md: every Python example runs and prints what the page shows."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from corduroy import Couch, Database

PAGE = Path(__file__).resolve().parents[2] / "docs" / "reliability.md"
BLOCK = re.compile(r"```python\n(.*?)```\n(?:```\n(.*?)```)?", re.S)


def examples() -> list[tuple[str, str]]:
    return [(code, shown or "") for code, shown in BLOCK.findall(PAGE.read_text())]


def test_the_page_has_examples() -> None:
    assert len(examples()) >= 3


@pytest.mark.parametrize("number", range(len(examples())))
def test_example_prints_what_the_page_shows(
    number: int, couchdb_url: str, couch: Couch, tmp_db: Database
) -> None:
    code, shown = examples()[number]
    tmp_db.save({"_id": "doc", "n": 1})
    namespace = {"url": couchdb_url, "couch": couch, "db": tmp_db}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{PAGE.name} example {number + 1}", "exec"), namespace)
    assert out.getvalue() == shown
