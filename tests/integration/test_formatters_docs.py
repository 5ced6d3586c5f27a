"""docs/formatters.md runs as written and prints what it shows."""

from __future__ import annotations

import contextlib
import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import corduroy
from corduroy import Couch, NotFound

DOCS = Path(__file__).resolve().parents[2] / "docs"

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def run_markdown(path: Path) -> None:
    """Run every ```python block of ``path`` in one namespace, in order.

    A ```text block right after a python block is the output it must print
    (exactly); a python block with no such block must print nothing.
    """
    blocks = _FENCE.findall(path.read_text(encoding="utf-8"))
    namespace: dict[str, object] = {"__name__": "__docs__"}
    for index, (lang, code) in enumerate(blocks):
        if lang != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{path.name} block {index}", "exec"), namespace)
        following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
        expected = following[1] if following[0] == "text" else ""
        assert out.getvalue() == expected, f"{path.name} block {index}:\n{code}"


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
