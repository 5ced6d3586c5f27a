"""Griffe extension for the API reference: cross-references in docstrings become links.

The docstrings are written for reading in the source too, so they name other objects in two
ways: Sphinx roles (:class:`~corduroy.errors.Conflict`, :func:`save_docs`) and double-backtick
literals of public names (``Database``, ``Couch.db``). mkdocstrings renders neither as a link
by itself. This extension rewrites both, once the package is loaded, into autorefs links
marked ``optional``: a link when the target is rendered somewhere in the site, plain code
when it is not (so a strict build never fails on a name that has no page).

Roles resolve like Sphinx's: a dotted path as written, else the name in the enclosing classes,
then the module, then the package's public names. Literals are linked only when their first
part is a public name of the package (``corduroy.__all__``).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|exc|mod|data|obj):`(~?)([A-Za-z_][\w.]*)`")
LITERAL = re.compile(r"``([A-Za-z_][\w.]*)(\([^`]*\))?``")


def _exists(collection: Any, path: str) -> bool:
    try:
        collection[path]
    except (KeyError, ValueError, griffe.AliasResolutionError, griffe.CyclicAliasError):
        return False
    return True


class CrossReferences(griffe.Extension):
    """Rewrites the docstrings of a loaded package (see the module docstring)."""

    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        collection = pkg.modules_collection
        exported = set(pkg.exports or ())
        seen: set[str] = set()

        def resolve(scope: griffe.Object, name: str) -> str | None:
            if name.startswith(f"{pkg.path}.") and _exists(collection, name):
                return name
            first = name.partition(".")[0]
            rest = name[len(first) :]
            candidates = []
            parent: griffe.Object | None = scope
            while parent is not None:
                candidates.append(f"{parent.path}.{name}")
                parent = parent.parent
            if first in exported:
                candidates.insert(0, f"{pkg.path}.{first}{rest}")
            for candidate in candidates:
                if _exists(collection, candidate):
                    return candidate
            return None

        def link(path: str, shown: str) -> str:
            return f'<autoref identifier="{path}" optional><code>{shown}</code></autoref>'

        def rewrite(obj: griffe.Object) -> None:
            if obj.path in seen:
                return
            seen.add(obj.path)
            docstring = obj.docstring
            if docstring is not None:
                scope = obj if obj.is_class or obj.is_module else (obj.parent or obj)

                def role(match: re.Match[str]) -> str:
                    tilde, name = match.groups()
                    shown = name.rpartition(".")[2] if tilde else name
                    target = resolve(scope, name)
                    return link(target, shown) if target else f"<code>{shown}</code>"

                def literal(match: re.Match[str]) -> str:
                    name, call = match.group(1), match.group(2) or ""
                    if name.partition(".")[0] not in exported:
                        return match.group(0)
                    target = resolve(scope, name)
                    return link(target, name + call) if target else match.group(0)

                text = ROLE.sub(role, docstring.value)
                docstring.value = LITERAL.sub(literal, text)
            for member in obj.members.values():
                if not member.is_alias and isinstance(member, griffe.Object):
                    rewrite(member)

        rewrite(pkg)
