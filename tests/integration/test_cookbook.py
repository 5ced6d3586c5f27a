"""Every cookbook program (examples/cookbook_*.py) runs against the live server and prints
exactly what its page (docs/cookbook/*.md) says it prints.

A page shows a program with a line ``@example examples/cookbook_X.py`` and its output in the
next ```` ```text ```` block; ``...`` in that block stands for anything (revisions, ids).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = {
    "cookbook_asyncio.py": "asyncio.md",
    "cookbook_tornado.py": "tornado.md",
    "cookbook_fastapi.py": "fastapi.md",
    "cookbook_jupyter.py": "jupyter.md",
    "cookbook_threads.py": "threads.md",
    "cookbook_changes_worker.py": "changes-worker.md",
}


def documented_output(page: Path, program: str) -> list[str]:
    """The lines of the first ```text block after ``@example examples/<program>``."""
    text = page.read_text(encoding="utf-8")
    at = text.index(f"@example examples/{program}")
    block = re.compile(r"^```text[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)
    found = block.search(text, at)
    assert found is not None, f"{page.name} shows no output for {program}"
    return found.group(1).splitlines()


def matches(pattern: str, line: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("..."))
    return re.fullmatch(regex, line) is not None


def test_every_cookbook_program_has_a_page() -> None:
    programs = sorted(p.name for p in (ROOT / "examples").glob("cookbook_*.py"))
    assert programs == sorted(PAGES)
    for program, page in PAGES.items():
        assert f"@example examples/{program}" in (ROOT / "docs" / "cookbook" / page).read_text()


@pytest.mark.parametrize("program", sorted(PAGES))
def test_cookbook_program_prints_what_its_page_shows(couchdb_url: str, program: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUCHDB_")}
    env["COUCHDB_URL"] = couchdb_url
    result = subprocess.run(
        [sys.executable, str(ROOT / "examples" / program)],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
        cwd=ROOT / "examples",
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    printed = result.stdout.splitlines()
    expected = documented_output(ROOT / "docs" / "cookbook" / PAGES[program], program)
    assert len(printed) == len(expected), (printed, expected)
    for pattern, line in zip(expected, printed, strict=True):
        assert matches(pattern, line), f"printed {line!r}, the page says {pattern!r}"


@pytest.mark.parametrize("program", sorted(PAGES))
def test_cookbook_program_leaves_no_resource_warning(couchdb_url: str, program: str) -> None:
    """Run under ``python -X dev`` with ResourceWarning an error: every socket is closed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COUCHDB_", "PYTHON"))}
    env["COUCHDB_URL"] = couchdb_url
    strict = [sys.executable, "-X", "dev", "-W", "error::ResourceWarning"]
    result = subprocess.run(
        [*strict, str(ROOT / "examples" / program)],
        capture_output=True,
        text=True,
        env=env,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    assert "Warning" not in result.stderr and "unclosed" not in result.stderr, result.stderr
