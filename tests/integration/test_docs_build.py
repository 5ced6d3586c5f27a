"""The documentation build is strict: a broken example reference, API reference or link fails
it. (``make docs`` builds the real site; these build small sites with the same hook and
plugins.)"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = Path(sys.executable).with_name("mkdocs")

CONFIG = f"""
site_name: probe
strict: true
theme:
  name: material
  font: false
hooks:
  - {ROOT / "docs" / "hooks" / "examples.py"}
validation:
  links:
    not_found: warn
markdown_extensions:
  - pymdownx.superfences
plugins:
  - mkdocstrings:
      handlers:
        python:
          paths: [{ROOT / "src"}]
          options:
            inherited_members: true
            show_root_heading: true
            extensions:
              - {ROOT / "docs" / "hooks" / "crossrefs.py"}:CrossReferences
"""


def build(tmp_path: Path, page: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "index.md").write_text(page)
    (tmp_path / "mkdocs.yml").write_text(CONFIG)
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )


def test_examples_and_references_render(tmp_path: Path) -> None:
    page = "# Probe\n\n@example examples/guide_basics.py:basic_crud\n\n::: corduroy.Couch\n"
    result = build(tmp_path, page)
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "index.html").read_text()
    assert "basic_crud" in html  # the function's source is in the page
    assert "create_if_missing" in html  # Couch's methods are documented


@pytest.mark.parametrize(
    ("page", "complaint"),
    [
        ("@example examples/no_such_program.py\n", "no file examples/no_such_program.py"),
        ("@example examples/guide_basics.py:no_such_function\n", "no function or class"),
        ("::: corduroy.NoSuchThing\n", "corduroy.NoSuchThing"),
        ("[a link](nowhere.md)\n", "nowhere.md"),
    ],
)
def test_a_broken_reference_fails_the_build(tmp_path: Path, page: str, complaint: str) -> None:
    result = build(tmp_path, "# Probe\n\n" + page)
    assert result.returncode != 0
    assert complaint in result.stderr + result.stdout


def test_docstring_cross_references_are_links(tmp_path: Path) -> None:
    result = build(tmp_path, "# Probe\n\n::: corduroy.Couch\n\n::: corduroy.Database\n")
    assert result.returncode == 0, result.stderr
    html = (tmp_path / "site" / "index.html").read_text()
    # ``Couch`` in Database's docstrings and :class:`~corduroy.errors.Conflict`-style roles
    assert re.search(r'<a class="autorefs autorefs-internal"[^>]*href="#corduroy\.Couch"', html)
    assert ":class:`" not in html and "<autoref" not in html


def test_the_built_site_works_opened_from_disk(tmp_path: Path) -> None:
    """Every link and asset of the real site is a file (no directory urls, which only a web
    server resolves to their index.html)."""
    site = tmp_path / "site"
    result = subprocess.run(
        [str(MKDOCS), "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, result.stderr
    pages = [page for page in site.rglob("*.html") if page.name != "404.html"]  # served only
    assert len(pages) > 20
    broken = []
    for page in pages:
        for target in re.findall(r'(?:href|src)="([^"#?]*)[^"]*"', page.read_text()):
            if not target or re.match(r"[a-z]+:|//", target):
                continue  # an anchor on the page, or another site
            if not (page.parent / target).is_file():
                broken.append(f"{page.relative_to(site)} -> {target}")
    assert broken == []
