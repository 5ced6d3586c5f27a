"""docs/formatters.md runs as written and prints what it shows."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import pytest

import corduroy
from corduroy import Couch, NotFound
from docblocks import run_markdown as _run

DOCS = Path(__file__).resolve().parents[2] / "docs"


def run_markdown(path: Path) -> None:
    _run(path.read_text(encoding="utf-8"), {}, path.name, silent=True)


@contextlib.contextmanager
def docs_database(couchdb_url: str, name: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The default server is the test server, and database ``name`` starts empty."""
    monkeypatch.setattr(corduroy.defaults, "url", couchdb_url)
    couch = Couch(couchdb_url)
    with contextlib.suppress(NotFound):
        couch.delete(name)
    try:
        yield
    finally:
        with contextlib.suppress(NotFound):
            couch.delete(name)
        couch.close()


def test_formatters_docs_run_as_written(
    couch: Couch, couchdb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with docs_database(couchdb_url, "formatters-docs", monkeypatch):
        run_markdown(DOCS / "formatters.md")
