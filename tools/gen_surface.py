"""Generate the typed surfaces of ``Couch`` and ``Database`` from their methods.

The methods are written once, in ``corduroy/api/`` (and ``couch.py``,
``database.py``); this script reads their signatures and writes:

* ``src/corduroy/_calls.pyi``: ``CouchCalls`` and ``DatabaseCalls``, the
  blocking classes' overloads: every method that takes ``callback=`` is typed
  as returning its data without one and a ``RequestReplica`` with one. It is a
  stub read by type checkers only.
* ``src/corduroy/aio.py``: ``corduroy.aio.Couch`` and ``corduroy.aio.Database``,
  whose request methods are coroutines that await the same methods of a wrapped
  ``Couch``/``Database`` (inside a running loop these return awaitables).

``python tools/gen_surface.py`` rewrites both files; ``--check`` fails if
either is out of date or a public method has no twin (``make lint`` runs it).
"""

from __future__ import annotations

import argparse
import builtins
import inspect
import re
import subprocess
import sys
import types
import typing
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from corduroy.couch import Couch  # noqa: E402
from corduroy.database import Database  # noqa: E402
from corduroy.partition import Partition  # noqa: E402

STUB = ROOT / "src" / "corduroy" / "_calls.pyi"
AIO = ROOT / "src" / "corduroy" / "aio.py"

CALLBACK = "Callback | None"

#: Methods corduroy.aio leaves out, and why (the check accepts only these): a name alone
#: for both classes, ``Class.name`` for one.
NOT_IN_AIO = {
    "Database.__getitem__": "blocking only: await db.get(id)",
    "__contains__": "blocking only (a HEAD): await db.exists() / couch.db(name)",
    "__iter__": "blocking only: await all_dbs() / async for over iterview",
    "__len__": "blocking only: await db.info()",
    "__delitem__": "blocking only: await db.delete(id, rev)",
    "__setitem__": "blocking only: await db.save(doc)",
    "__enter__": "written by hand in _aio_base",
    "__exit__": "written by hand in _aio_base",
    "close": "written by hand in _aio_base",
    "aclose": "written by hand in _aio_base",
    "__aenter__": "written by hand in _aio_base",
    "__aexit__": "written by hand in _aio_base",
    "database_class": "the class couch[name] makes, on the blocking Couch",
}
#: Dunders that belong to the public surface.
PUBLIC_DUNDERS = {
    "__getitem__",
    "__contains__",
    "__iter__",
    "__len__",
    "__delitem__",
    "__setitem__",
    "__enter__",
    "__exit__",
    "__aenter__",
    "__aexit__",
}
#: Where names used in annotations but imported only for type checking live.
NAME_MODULES = [
    "corduroy",
    "corduroy.drivers",
    "corduroy.document",
    "corduroy.ops.conflicts",
    "corduroy.api.views",
    "corduroy.changes",
    "corduroy.changes_stream",
    "corduroy.auth",
    "typing",
    "collections.abc",
]
IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def public_members(cls: type) -> Iterator[tuple[str, object]]:
    for name in sorted(dir(cls)):
        if name.startswith("_") and name not in PUBLIC_DUNDERS:
            continue
        if name not in dir(object) or name in PUBLIC_DUNDERS:
            yield name, inspect.getattr_static(cls, name)


def left_out(cls: type, member: str) -> bool:
    """Whether ``cls.member`` has no twin in corduroy.aio (see NOT_IN_AIO)."""
    return member in NOT_IN_AIO or f"{cls.__name__}.{member}" in NOT_IN_AIO


class Names:
    """Resolves the names in annotation strings to imports."""

    def __init__(self, own: dict[str, str]) -> None:
        self.own = own  # names this file defines itself (Couch, Database)
        self.imports: dict[str, set[str]] = {}
        self.runtime: dict[str, set[str]] = {}  # names a default value needs at run time
        self.modules: set[str] = set()
        self.fallback: dict[str, tuple[str, object]] = {}
        for module_name in NAME_MODULES:
            module = sys.modules.get(module_name) or __import__(module_name, fromlist=["_"])
            for attr, value in vars(module).items():
                if not attr.startswith("_"):
                    self.fallback.setdefault(attr, (module_name, value))

    def _where(self, name: str, scope: dict[str, object]) -> tuple[str, str]:
        """(module to import from, name) for the object ``name`` means in ``scope``."""
        head, _, rest = name.partition(".")
        value = scope.get(head)
        home = str(scope.get("__name__"))
        if value is None and head in self.fallback:
            home, value = self.fallback[head]
        if value is None:
            raise SystemExit(f"gen_surface: cannot resolve {name!r} in {home}")
        attr = head
        if isinstance(value, types.ModuleType):
            for part in rest.split("."):
                value = getattr(value, part)
            attr = rest.split(".")[-1]
            home = value.__name__ if isinstance(value, types.ModuleType) else home
        return canonical(value, home, attr)

    def rewrite(self, annotation: str, scope: dict[str, object], members: set[str]) -> str:
        def one(match: re.Match[str]) -> str:
            name = match.group(0)
            if name in self.own:
                return self.own[name]
            if name in ("None", "Self"):
                return name
            if hasattr(builtins, name):
                if name in members:  # e.g. Database.list shadows list in the class body
                    self.modules.add("builtins")
                    return f"builtins.{name}"
                return name
            module, attr = self._where(name, scope)
            if module == "builtins":
                return attr
            if module in ("os",):
                self.modules.add(module)
                return name
            self.imports.setdefault(module, set()).add(attr)
            return attr

        return IDENT.sub(one, annotation)

    def default(self, value: object, scope: dict[str, object]) -> str:
        text = repr(value)
        if not text.startswith("<"):
            return text
        for name, candidate in scope.items():
            if candidate is value:
                module, attr = canonical(value, str(scope["__name__"]), name)
                self.runtime.setdefault(module, set()).add(attr)
                return attr
        raise SystemExit(f"gen_surface: cannot spell the default {text}")

    def import_lines(self, indent: str = "") -> list[str]:
        lines = [f"{indent}import {module}" for module in sorted(self.modules)]
        for module, names in sorted(self.imports.items()):
            if not names:
                continue
            lines.append(f"{indent}from {module} import {', '.join(sorted(names))}")
        return lines


def canonical(value: object, home: str, attr: str) -> tuple[str, str]:
    """Where ``value`` is defined (or, for a type alias, first found), and its name there."""
    if getattr(typing, attr, None) is value:  # Literal, Any, ...
        return "typing", attr
    module = getattr(value, "__module__", None)
    name = getattr(value, "__name__", None)
    if isinstance(value, type | types.FunctionType) or value is typing.Any:
        if module and name and getattr(sys.modules.get(module), name, None) is value:
            return module, name
    for candidate in NAME_MODULES[1:]:
        found = sys.modules.get(candidate)
        if found is not None and getattr(found, attr, None) is value:
            return candidate, attr
    return home, attr


def signature_text(
    sig: inspect.Signature,
    names: Names,
    scope: dict[str, object],
    members: set[str],
    *,
    drop: Callable[[inspect.Parameter], bool] = lambda p: False,
    callback: str | None = None,
    returns: str | None = None,
) -> str:
    """``(self, a: int, *, b: str = "x") -> R`` with annotations rewritten; ``drop`` leaves
    parameters out, ``callback`` replaces the ``callback`` parameter's text."""
    parts: list[str] = []
    star_seen = False
    for param in sig.parameters.values():
        if drop(param):
            continue
        if param.kind is param.KEYWORD_ONLY and not star_seen:
            parts.append("*")
        star_seen = star_seen or param.kind in (param.KEYWORD_ONLY, param.VAR_POSITIONAL)
        if param.name == "callback" and callback is not None:
            parts.append(callback)
            continue
        stars = {param.VAR_POSITIONAL: "*", param.VAR_KEYWORD: "**"}.get(param.kind, "")
        text = stars + param.name
        if param.annotation is not param.empty:
            text += ": " + names.rewrite(str(param.annotation), scope, members)
        if param.default is not param.empty:
            text += " = " + names.default(param.default, scope)
        parts.append(text)
    result = f"({', '.join(parts)})"
    ret = (
        returns
        if returns is not None
        else names.rewrite(str(sig.return_annotation), scope, members)
    )
    return f"{result} -> {ret}"


def call_text(
    sig: inspect.Signature,
    wrap: Callable[[inspect.Parameter], str],
    with_var_keyword: bool = True,
) -> str:
    """The arguments that pass a method's own parameters on (callback left out)."""
    args: list[str] = []
    for param in list(sig.parameters.values())[1:]:
        if param.name == "callback" and str(param.annotation) == CALLBACK:
            continue
        value = wrap(param)
        if param.kind is param.VAR_POSITIONAL:
            args.append(f"*{value}")
        elif param.kind is param.VAR_KEYWORD:
            if with_var_keyword:
                args.append(f"**{value}")
        elif param.kind is param.KEYWORD_ONLY:
            args.append(f"{param.name}={value}")
        else:
            args.append(value)
    return ", ".join(args)


def takes_callback(sig: inspect.Signature) -> bool:
    param = sig.parameters.get("callback")
    return param is not None and str(param.annotation) == CALLBACK


def signatures(func: Callable[..., object]) -> list[inspect.Signature]:
    overloads = typing.get_overloads(func)
    return [inspect.signature(one) for one in overloads] or [inspect.signature(func)]


def docstring(func: object, indent: str) -> list[str]:
    doc = inspect.cleandoc(func) if isinstance(func, str) else inspect.getdoc(func)
    if not doc:
        return []
    body = doc.replace('"""', r"\"\"\"").splitlines()
    lines = [f'{indent}"""{body[0]}']
    lines += [f"{indent}{line}".rstrip() for line in body[1:]]
    if len(body) == 1:
        lines[0] += '"""'
    else:
        lines.append(f'{indent}"""')
    return lines


# -- the stub of the blocking classes' overloads ---------------------------------------------


def stub_class(cls: type, name: str, names: Names) -> list[str]:
    members = {member for member, _ in public_members(cls)}
    lines = [f"class {name}:"]
    for member, attr in public_members(cls):
        if not inspect.isfunction(attr):
            continue
        sig = inspect.signature(attr)
        if not takes_callback(sig):
            continue
        scope = attr.__globals__
        for one in signatures(attr):
            lines.append("    @overload")
            text = signature_text(one, names, scope, members, callback="callback: None = None")
            lines.append(f"    def {member}{text}: ...")
            returns = text.rsplit(" -> ", 1)[1]
            lines.append("    @overload")
            text = signature_text(
                one, names, scope, members, callback="callback: Callback",
                returns="RequestReplica",
            )  # fmt: skip
            lines.append(f"    def {member}{text}: ...")
            lines.append("    @overload")  # corduroy.aio's calls
            text = signature_text(
                one, names, scope, members, callback="callback: Awaiting",
                returns=f"Awaitable[{returns}]",
            )  # fmt: skip
            lines.append(f"    def {member}{text}: ...")
    return lines


def make_stub() -> str:
    names = Names({"Self": "Self"})
    names.imports.setdefault("corduroy.drivers", set()).update(
        {"Awaiting", "Callback", "RequestReplica"}
    )
    names.imports.setdefault("collections.abc", set()).add("Awaitable")
    names.imports.setdefault("typing", set()).update({"overload", "Self"})
    names.imports.setdefault("corduroy.database", set()).add("Database")
    body: list[str] = []
    for name, wrapped in WRAPPED.items():
        body += [*stub_class(wrapped.blocking, f"{name}Calls", names), "", ""]
    head = [
        '"""The callback= overloads of Couch and Database (for type checkers only).',
        "",
        "Generated by tools/gen_surface.py from the methods' signatures: do not edit.",
        '"""',
        "",
        *names.import_lines(),
        "",
        "",
    ]
    return "\n".join(head + body).rstrip() + "\n"


# -- corduroy.aio --------------------------------------------------------------------------


def aio_class(cls: type, name: str, names: Names, base: str, init: str, doc: str) -> list[str]:
    members = {member for member, _ in public_members(cls)}
    lines = [f"class {name}({base}):"]
    lines += docstring(doc, "    ")
    lines.append("")
    lines += init.splitlines()
    for member, attr in public_members(cls):
        if left_out(cls, member):
            continue
        lines.append("")
        if isinstance(attr, property):
            scope = attr.fget.__globals__  # type: ignore[union-attr]
            ret = names.rewrite(
                str(inspect.signature(attr.fget).return_annotation),  # type: ignore[arg-type]
                scope,
                members,
            )
            lines.append("    @property")
            lines.append(f"    def {member}(self) -> {ret}:")
            lines += docstring(attr, "        ")
            lines.append(f"        return {wrap_result(ret, f'self._sync.{member}')}")
            continue
        if not inspect.isfunction(attr):
            raise SystemExit(f"gen_surface: {cls.__name__}.{member} is neither method nor property")
        scope = attr.__globals__
        sig = inspect.signature(attr)
        request = takes_callback(sig)
        prefix = "async def" if request else "def"
        drop = lambda p: p.name == "callback" and str(p.annotation) == CALLBACK  # noqa: E731
        sigs = signatures(attr)
        if len(sigs) > 1:
            for one in sigs:
                lines.append("    @overload")
                text = signature_text(one, names, scope, members, drop=drop)
                lines.append(f"    {prefix} {member}{text}: ...")
        text = signature_text(sig, names, scope, members, drop=drop)
        ret = text.rsplit(" -> ", 1)[1]
        lines.append(f"    {prefix} {member}{text}:")
        lines += docstring(attr, "        ")
        wrap = lambda p, scope=scope: unwrap_arg(p, names, scope, members)  # noqa: E731
        args = call_text(sig, wrap)
        call = f"self._sync.{member}({args})"
        if request and ret == "Any":  # e.g. changes(feed="continuous"): an async iterator
            call = f"await settled({call})"
        elif request:  # the awaitable, without the check for a running loop
            call = f"await self._sync.{member}({join(args, 'callback=AWAITING')})"
            options = [p.name for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD]
            if options:  # passing **{} on costs more than the rest of the call: not when empty
                plain = call_text(sig, wrap, with_var_keyword=False)
                lines.append(f"        if not {options[0]}:")
                plain_call = f"await self._sync.{member}({join(plain, 'callback=AWAITING')})"
                lines.append(f"            {result_line(ret, plain_call)}")
                if ret == "None":
                    lines.append("            return")
        lines.append(f"        {result_line(ret, call)}")
    return lines


def join(args: str, more: str) -> str:
    return f"{args}, {more}" if args else more


def result_line(ret: str, call: str) -> str:
    """The statement that hands on what ``call`` gives (mypy refuses to pass on a None)."""
    return call if ret == "None" else f"return {wrap_result(ret, call)}"


def unwrap_arg(
    param: inspect.Parameter, names: Names, scope: dict[str, object], members: set[str]
) -> str:
    annotation = names.rewrite(str(param.annotation), scope, members)
    if OWN.search(annotation):
        return f"unwrap({param.name})"
    return param.name


def wrap_result(ret: str, call: str) -> str:
    if ret in WRAPPED:
        return f"{ret}.wrap({call})"
    if OWN.search(ret):
        raise SystemExit(f"gen_surface: cannot wrap a result typed {ret}")
    return call


COUCH_DOC = """\
A CouchDB server for typed async code: every request method is a coroutine.

``corduroy.aio.Couch(...)`` takes the same arguments as ``corduroy.Couch``
and runs the same operations; ``await couch.db(name)`` and ``couch[name]``
hand out ``corduroy.aio.Database`` objects. Close it with ``async with``
or ``await couch.aclose()``.
"""
DATABASE_DOC = """\
A CouchDB database for typed async code: every request method is a coroutine.

Get one from a ``corduroy.aio.Couch`` (``couch[name]``, ``await couch.db(name)``)
or make one like ``corduroy.Database``: ``Database("people")`` or
``Database("http://host:5984/people")``.
"""


PARTITION_DOC = """\
One partition of a partitioned database, for typed async code (``db.partition(key)``).
"""
COUCH_PROPERTY = '''
    @property
    def couch(self) -> Couch:
        """The server this database is on."""
        return Couch.wrap(self._sync.couch)'''
PARTITION_PROPERTIES = '''
    @property
    def db(self) -> Database:
        """The database the partition is in."""
        return Database.wrap(self._sync.db)

    @property
    def key(self) -> str:
        """The partition key (the part of the ids before ``:``)."""
        return self._sync.key'''


@dataclass(frozen=True)
class Wrapped:
    """A class of corduroy.aio: the blocking class it wraps, the module (as aio.py imports
    it) that defines that class, its base in _aio_base, its docstring, members by hand."""

    blocking: type
    module: str
    base: str
    doc: str
    extra: str = ""


WRAPPED = {
    "Couch": Wrapped(Couch, "_couch", "AsyncCouchBase", COUCH_DOC),
    "Database": Wrapped(Database, "_database", "Wrapper[_database.Database]", DATABASE_DOC,
                        COUCH_PROPERTY),
    "Partition": Wrapped(Partition, "_partition", "Wrapper[_partition.Partition]",
                         PARTITION_DOC, PARTITION_PROPERTIES),
}  # fmt: skip
OWN = re.compile(r"\b(" + "|".join(WRAPPED) + r")\b")


def init_text(cls: type, names: Names, target: str) -> str:
    members = {member for member, _ in public_members(cls)}
    init = cls.__init__
    sig = inspect.signature(init)
    text = signature_text(sig, names, init.__globals__, members)
    args = call_text(sig, lambda p: unwrap_arg(p, names, init.__globals__, members))
    return "\n".join(
        [
            f"    def __init__{text}:",
            f"        super().__init__({target}({args}))",
        ]
    )


def make_aio() -> str:
    names = Names({name: name for name in WRAPPED} | {"Self": "Database"})
    body: list[str] = []
    for name, wrapped in WRAPPED.items():
        init = init_text(wrapped.blocking, names, f"{wrapped.module}.{name}") + wrapped.extra
        body += aio_class(wrapped.blocking, name, names, wrapped.base, init, wrapped.doc)
        body += ["", ""]
    head = [
        '"""Typed async code: ``Couch`` and ``Database`` whose request methods are coroutines.',
        "",
        "::",
        "",
        "    from corduroy.aio import Couch",
        "",
        "    async with Couch(url) as couch:",
        '        db = await couch.db("people")',
        '        doc = await db.get("ollie")     # a Document, for mypy too',
        "",
        "The methods are those of ``corduroy.Couch``/``corduroy.Database`` (same",
        "arguments but ``callback``); each awaits the same method of a wrapped",
        "blocking-typed object, so every operation is written once.",
        "Generated by tools/gen_surface.py: do not edit (``make surface``).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING, overload",
        "",
        *(f"from corduroy import {w.module[1:]} as {w.module}" for w in WRAPPED.values()),
        "from corduroy._aio_base import AsyncCouchBase, Wrapper, settled, unwrap",
        "from corduroy.drivers import AWAITING",
        "",
        "if TYPE_CHECKING:",
    ]
    typed = Names({})
    at_run_time = {name for names_ in names.runtime.values() for name in names_}
    typed.imports = {
        module: {name for name in imported if name not in at_run_time}
        for module, imported in names.imports.items()
    }
    typed.modules = names.modules
    head += typed.import_lines("    ")
    runtime_names = Names({})
    runtime_names.imports = names.runtime
    head[head.index("if TYPE_CHECKING:") : head.index("if TYPE_CHECKING:")] = [
        *runtime_names.import_lines(),
        "",
    ]
    head += ["", f"__all__ = {sorted(WRAPPED)!r}".replace("'", '"'), "", ""]
    return "\n".join(head + body).rstrip() + "\n"


def formatted(text: str, path: Path) -> str:
    ruff = Path(sys.executable).parent / "ruff"
    command = [str(ruff) if ruff.exists() else "ruff"]
    fix = subprocess.run(
        [*command, "check", "--fix-only", "--select", "I,F401", "--stdin-filename", str(path), "-"],
        input=text, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    done = subprocess.run(
        [*command, "format", "--stdin-filename", str(path), "-"],
        input=fix.stdout, capture_output=True, text=True, check=True, cwd=ROOT,
    )  # fmt: skip
    return done.stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a file is out of date")
    options = parser.parse_args()
    stale = []
    for path, text in ((STUB, make_stub()), (AIO, make_aio())):
        text = formatted(text, path)
        if path.exists() and path.read_text() == text:
            continue
        if options.check:
            stale.append(path.relative_to(ROOT))
        else:
            path.write_text(text)
            print(f"wrote {path.relative_to(ROOT)}")
    if stale:
        print(
            f"out of date: {', '.join(map(str, stale))}; run `make surface` and commit the result",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
