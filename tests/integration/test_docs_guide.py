"""docs/guide.md shows what its examples print: the guide's example programs run against the
live server and each output block of the page appears in what they print, in order.

In an output block, ``...`` inside a line stands for anything (a revision, a server-made id,
the server's url) and a line that is just ``...`` for any number of lines.
"""

from __future__ import annotations

import contextlib
import importlib
import io
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest

import corduroy
from corduroy import Couch, NotFound

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "guide.md"
GUIDE_DBS = [
    "mine", "some_db_name", "underlings", "backbench", "dosac", "mannion", "tucker", "eventual",
]  # fmt: skip


def output_blocks() -> list[list[str]]:
    blocks = re.findall(r"^```text\n(.*?)^```", GUIDE.read_text(encoding="utf-8"), re.M | re.S)
    return [block.splitlines() for block in blocks]


def line_matches(pattern: str, line: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("..."))
    return re.fullmatch(regex, line) is not None


def block_at(block: list[str], printed: list[str], start: int) -> int | None:
    """Match ``block`` against ``printed[start:]``; the index after the match, or None."""
    if not block:
        return start
    head, rest = block[0], block[1:]
    if head == "...":
        for skip in range(start, len(printed) + 1):
            end = block_at(rest, printed, skip)
            if end is not None:
                return end
        return None
    if start < len(printed) and line_matches(head, printed[start]):
        return block_at(rest, printed, start + 1)
    return None


def find_block(block: list[str], printed: list[str], start: int) -> int | None:
    for first in range(start, len(printed)):
        end = block_at(block, printed, first)
        if end is not None:
            return end
    return None


@pytest.fixture
def guide_server(couchdb_url: str, couch: Couch) -> Iterator[Couch]:
    """The guide's databases on the live server, and the examples' default server set to it."""

    def clean() -> None:
        for name in GUIDE_DBS:
            with contextlib.suppress(NotFound):
                couch.delete(name)

    clean()
    saved = corduroy.defaults.url
    corduroy.defaults.url = couchdb_url
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        yield couch
    finally:
        sys.path.remove(str(ROOT / "examples"))
        corduroy.defaults.url = saved
        clean()


def run_guide_examples(couch: Couch, couchdb_url: str) -> list[str]:
    """Run the sections whose output the guide shows, as ``make demo`` does; what they print."""
    parts = urlsplit(couchdb_url)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        basics: Any = importlib.import_module("guide_basics")
        basics.setup(couch)
        basics.main(unquote(parts.username or ""), unquote(parts.password or ""))
        importlib.import_module("guide_conflicts").run(couch)
        views: Any = importlib.import_module("guide_views")
        dosac = couch.db("dosac", create_if_missing=True)
        views.setup(dosac)
        views.main(dosac)
        importlib.import_module("guide_formatters").run(couch)
    return out.getvalue().splitlines()


def test_block_matching() -> None:
    printed = ["a", "<Couch 'http://x/'>", "1", "2", "3", "end", "tail"]
    assert find_block(["<Couch '...'>", "...", "end"], printed, 0) == 6
    assert find_block(["1", "3"], printed, 0) is None
    assert find_block(["end"], printed, 6) is None


def test_the_guide_shows_what_its_examples_print(guide_server: Couch, couchdb_url: str) -> None:
    printed = run_guide_examples(guide_server, couchdb_url)
    blocks = output_blocks()
    assert len(blocks) >= 6
    position = 0
    for block in blocks:
        end = find_block(block, printed, position)
        assert end is not None, f"the guide shows\n{block}\nbut the examples printed\n{printed}"
        position = end
