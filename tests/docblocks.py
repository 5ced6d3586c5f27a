"""Run the code blocks of a documentation page and check what they print.

Every ```python block of a page runs, in order, in one namespace; a ```text block
right after a python block is the exact output it must print. With
``silent=True`` a python block that has no such block must print nothing.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
from pathlib import Path
from typing import Any

FENCE = re.compile(r"^```(\w*)\n(.*?)^```$", re.S | re.M)


def run_markdown(text: str, namespace: dict[str, Any], name: str, *, silent: bool = False) -> int:
    """Run the page ``text``; returns how many printed outputs were compared."""
    blocks = FENCE.findall(text)
    namespace.setdefault("__name__", "__docs__")
    compared = 0
    for index, (lang, code) in enumerate(blocks):
        if lang != "python":
            continue
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{name} block {index}", "exec"), namespace)
        following = blocks[index + 1] if index + 1 < len(blocks) else ("", "")
        if following[0] == "text":
            assert out.getvalue() == following[1], f"{name} block {index}:\n{code}"
            compared += 1
        elif silent:
            assert out.getvalue() == "", f"{name} block {index} printed:\n{out.getvalue()}"
    return compared


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str) -> Any:
    """``examples/<name>.py`` imported as a module (the examples are not a package)."""
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
