"""docs/attachments.md runs as written and prints what it shows."""

from __future__ import annotations

import pytest

from corduroy import Couch
from integration.test_formatters_docs import DOCS, docs_database, run_markdown


def test_attachments_docs_run_as_written(
    couch: Couch, couchdb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with docs_database(couchdb_url, "attachments-docs", monkeypatch):
        run_markdown(DOCS / "attachments.md")
