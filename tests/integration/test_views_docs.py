"""docs/views.md and examples/guide_views.py run as written and print what they show."""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

import pytest

import corduroy
from corduroy import Couch, Database, NotFound
from docblocks import load_example, run_markdown

ROOT = Path(__file__).resolve().parents[2]

# The guide's outputs (Python 3 spelling). The guide lists 4 of the 17 rows, and
# prints ["2007","11"] → 20 although its own November days add up to 21.
GUIDE_LINES = [
    "<employees/byname: 17/17 rows>",
    "key:abbott\t| id:emp-2c9792a3",
    "key:coverley\t| id:emp-fad5095d",
    "key:cullen\t| id:emp-687e8224",
    "key:reeder\t| id:emp-c110c0a8",
    '<Document emp-2c9792a3[5932] {first:"Hugh", last:"Abbott", locale:"Unknown"}>',
    "['coverley', 'cullen']",
    "['2007', '11', '28'] → 1",
    "['2007', '11', '29'] → 17",
    "['2007', '11', '30'] → 3",
    "['2007', '12', '01'] → 92",
    "['2007', '12', '02'] → 50",
    "['2007', '11'] → 21",
    "['2007', '12'] → 142",
]


def test_guide_views_example_prints_the_guides_output(tmp_db: Database) -> None:
    module = load_example("guide_views")
    module.setup(tmp_db)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        module.main(tmp_db)
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 + 17 + 1 + 1 + 5 + 2
    shown = iter(lines)
    assert all(line in shown for line in GUIDE_LINES), lines  # in this order
    assert lines[1:4] == GUIDE_LINES[1:4] and lines[17] == GUIDE_LINES[4]
    keys = [line.split("\t")[0] for line in lines[1:18]]
    assert keys == sorted(keys) and len(set(keys)) == 17


def test_views_docs_run_as_written(
    couch: Couch, couchdb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(corduroy.defaults, "url", couchdb_url)
    with contextlib.suppress(NotFound):
        couch.delete("views-docs")
    path = ROOT / "docs" / "views.md"
    try:
        run_markdown(path.read_text(encoding="utf-8"), {}, "views.md", silent=True)
    finally:
        with contextlib.suppress(NotFound):
            couch.delete("views-docs")
