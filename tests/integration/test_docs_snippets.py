"""The code shown in docs/conventions.md, docs/index.md and docs/cli.md runs against the live
server and prints what the pages show (``...`` in a shown line stands for anything)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import corduroy
from corduroy import Couch, NotFound

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
CORDUROY = Path(sys.executable).with_name("corduroy")


def blocks(page: str, language: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


def matches(pattern: str, line: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("..."))
    return re.fullmatch(regex, line) is not None


def assert_prints(expected: str, printed: str) -> None:
    want, got = expected.splitlines(), printed.splitlines()
    assert len(want) == len(got), (want, got)
    for pattern, line in zip(want, got, strict=True):
        assert matches(pattern, line), f"printed {line!r}, the page says {pattern!r}"


@pytest.fixture
def default_server(couchdb_url: str, couch: Couch) -> Iterator[Couch]:
    """corduroy.defaults pointed at the live server; the pages' databases removed after."""
    saved = corduroy.defaults.url
    corduroy.defaults.url = couchdb_url
    try:
        yield couch
    finally:
        corduroy.defaults.url = saved
        for name in ("people", "underlings"):
            with contextlib.suppress(NotFound):
                couch.delete(name)


def test_conventions_page(default_server: Couch) -> None:
    people = default_server.db("people", create_if_missing=True)
    people.save(
        [
            {"_id": "ollie", "first": "Oliver", "friends": ["angela", "glenn"]},
            {"_id": "angela", "first": "Angela"},
            {"_id": "glenn", "first": "Glenn"},
        ]
    )
    code, outputs = blocks("conventions.md", "python"), blocks("conventions.md", "text")
    assert len(code) == len(outputs) == 3
    namespace: dict[str, object] = {}
    for source, expected in zip(code, outputs, strict=True):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(source, "conventions.md", "exec"), namespace)
        assert_prints(expected, out.getvalue())


def test_index_page(default_server: Couch, couchdb_url: str) -> None:
    [source] = blocks("index.md", "python")
    assert '"http://admin:secret@127.0.0.1:5984/"' in source
    source = source.replace('"http://admin:secret@127.0.0.1:5984/"', repr(couchdb_url))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "index.md", "exec"), {})
    shown = re.search(r"print\(.*?\)\s+# (.*)$", source, re.M)
    assert shown is not None
    assert out.getvalue().strip() == shown.group(1)


def test_cli_page_session(default_server: Couch, couchdb_url: str) -> None:
    [session] = [b for b in blocks("cli.md", "sh") if "$ corduroy create people" in b]
    env = {
        **os.environ,
        "COUCHDB_URL": couchdb_url,
        "PATH": f"{CORDUROY.parent}:{os.environ['PATH']}",
    }
    steps: list[tuple[str, list[str]]] = []
    for line in session.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:].split("  #")[0].strip(), []))
        else:
            steps[-1][1].append(line)
    ran = 0
    for command, expected in steps:
        if command.startswith("export ") or "--follow" in command:
            continue  # the url is the live server's; a followed feed never ends
        result = subprocess.run(
            ["bash", "-c", command], capture_output=True, text=True, env=env, timeout=60
        )
        assert result.returncode == 0, (command, result.stderr)
        assert_prints("\n".join(expected), result.stdout)
        ran += 1
    assert ran == 4
