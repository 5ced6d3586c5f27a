"""docs/admin.md, docs/auth.md and docs/clusters.md run as written and print what they show."""

from __future__ import annotations

import contextlib
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from corduroy import Couch, NotFound
from docblocks import run_markdown as _run

DOCS = Path(__file__).resolve().parents[2] / "docs"


def run_markdown(text: str, name: str) -> None:
    _run(text, {}, name, silent=True)


def for_this_server(page: str, couchdb_url: str) -> str:
    """The page with its example server (127.0.0.1:5984, admin/secret) replaced by ours."""
    parts = urlsplit(couchdb_url)
    hostport = parts.netloc.rpartition("@")[2]
    user, password = parts.username or "admin", parts.password or "secret"
    text = (DOCS / page).read_text(encoding="utf-8")
    text = text.replace("127.0.0.1:5984", hostport)
    text = text.replace("admin:secret@", f"{user}:{password}@")
    return text.replace('("admin", "secret")', f"({user!r}, {password!r})")


@pytest.fixture
def embedded_only(couchdb_server):
    if couchdb_server is None:
        pytest.skip("the pages show pouchdb-server's answers (security, auth info)")


def test_auth_page(couch: Couch, couchdb_url: str, embedded_only: None) -> None:
    run_markdown(for_this_server("auth.md", couchdb_url), "auth.md")


def test_admin_page(couch: Couch, couchdb_url: str, embedded_only: None) -> None:
    with contextlib.suppress(NotFound):
        couch.delete("admin-docs")
    try:
        run_markdown(for_this_server("admin.md", couchdb_url), "admin.md")
    finally:
        with contextlib.suppress(NotFound):
            couch.delete("admin-docs")


@pytest.mark.slow
def test_clusters_page() -> None:
    run_markdown((DOCS / "clusters.md").read_text(encoding="utf-8"), "clusters.md")
