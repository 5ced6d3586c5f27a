"""mkdocs hook: put the tested example programs into the pages.

A line of its own in a page::

    @example examples/guide_basics.py:basic_crud,batch_crud
    @example examples/cookbook_asyncio.py

becomes a Python code block holding those functions (or classes, decorators included), or
the whole file, read from the repository at build time. The examples are the code the tests
run, so the documentation shows only code that runs. A missing file or name fails the build.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from mkdocs.exceptions import PluginError

ROOT = Path(__file__).resolve().parents[2]
DIRECTIVE = re.compile(r"^@example\s+(?P<path>[^\s:]+)(?::(?P<names>[\w,]+))?\s*$", re.MULTILINE)


def _definition(tree: ast.Module, source: list[str], name: str, path: str) -> str:
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if node.name == name:
                first = min([d.lineno for d in node.decorator_list] + [node.lineno])
                assert node.end_lineno is not None
                return "".join(source[first - 1 : node.end_lineno])
    raise PluginError(f"@example: {path} has no function or class {name!r}")


def render(path: str, names: str | None) -> str:
    file = ROOT / path
    if not file.is_file():
        raise PluginError(f"@example: no file {path}")
    text = file.read_text(encoding="utf-8")
    if names:
        tree = ast.parse(text)
        lines = text.splitlines(keepends=True)
        body = "\n\n".join(_definition(tree, lines, n, path).rstrip() for n in names.split(","))
    else:
        body = text.rstrip()
    return f'```python title="{path}"\n{body}\n```'


def on_page_markdown(markdown: str, **kwargs: Any) -> str:
    return DIRECTIVE.sub(lambda m: render(m.group("path"), m.group("names")), markdown)
