"""Check corduroy's import rules (docs/architecture.md, "Import rules").

Reads every module under src/corduroy with ``ast`` (nothing is imported) and
counts every import that runs: at module level and inside functions, but not
under ``if TYPE_CHECKING:``. Then checks:

1. no cycles: no module imports, directly or through others, a module that
   imports it back;
2. operations (``corduroy.ops``) import neither the I/O layers of ``corduroy.http``,
   the drivers (``drivers``, ``driver_core``, ``jobs``, ``connection``, ``cluster``,
   ``auth``) nor the public classes (``couch``, ``database``, ``api``);
3. ``corduroy.http`` imports nothing of corduroy but ``corduroy.errors`` (and
   itself).

``python tools/check_imports.py`` prints each broken rule and exits 1 if any.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "src" / "corduroy"

#: What operations may not import (a name covers its submodules).
OPS_MAY_NOT = (
    "corduroy.http.sync_pool",
    "corduroy.http.sync_stream",
    "corduroy.http.async_pool",
    "corduroy.http.async_conn",
    "corduroy.http.async_stream",
    "corduroy.http.wire",
    "corduroy.drivers",
    "corduroy.driver_core",
    "corduroy.jobs",
    "corduroy.connection",
    "corduroy.cluster",
    "corduroy.auth",
    "corduroy.couch",
    "corduroy.database",
    "corduroy.api",
    "corduroy.aio",
)
#: All that corduroy.http may import of corduroy besides itself.
HTTP_MAY = ("corduroy.errors",)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def run_time_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in ``tree`` except those under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and type_checking_only(node):
            for other in node.orelse:
                yield from run_time_imports(ast.Module(body=[other], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        else:
            yield from run_time_imports(node)


def targets(node: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> list[str]:
    """The corduroy modules an import statement loads."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if under(alias.name, "corduroy")]
    if node.level:
        base = importer.split(".")
        if not is_package:
            base = base[:-1]
        base = base[: len(base) - (node.level - 1)]
        module = ".".join(base + ([node.module] if node.module else []))
    else:
        module = node.module or ""
    if not under(module, "corduroy"):
        return []
    return [module]


def graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        for node in run_time_imports(tree):
            for target in targets(node, name, is_package):
                if isinstance(node, ast.ImportFrom):  # from pkg import submodule
                    for alias in node.names:
                        if f"{target}.{alias.name}" in modules:
                            edges[name].add(f"{target}.{alias.name}")
                while target not in modules and "." in target:
                    target = target.rsplit(".", 1)[0]
                if target != name:
                    edges[name].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    sys.setrecursionlimit(10_000)
    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def package_faces(edges: dict[str, set[str]]) -> set[str]:
    """Package ``__init__`` modules: importing a submodule runs them, so they are not counted
    as the target of an edge (``corduroy/__init__.py`` re-exports everything)."""
    return {name for name in edges if (PACKAGE.parent / name.replace(".", "/")).is_dir()}


def problems() -> list[str]:
    edges = graph()
    faces = package_faces(edges)
    for name in edges:
        edges[name] -= faces
    found = []
    for group in cycles(edges):
        ties = [f"{a} -> {b}" for a in group for b in sorted(edges[a]) if b in group]
        found.append(f"import cycle: {', '.join(ties)}")
    for name, imported in sorted(edges.items()):
        for target in sorted(imported):
            if under(name, "corduroy.ops") and any(under(target, bad) for bad in OPS_MAY_NOT):
                found.append(f"an operation imports {target}: {name}")
            if under(name, "corduroy.http") and not (
                under(target, "corduroy.http") or target in HTTP_MAY
            ):
                found.append(f"corduroy.http imports {target}: {name}")
    return found


def main() -> int:
    found = problems()
    for line in found:
        print(line, file=sys.stderr)
    if found:
        print(f"{len(found)} broken import rule(s); see docs/architecture.md", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
