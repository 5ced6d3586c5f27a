"""The public surface: ``corduroy.__all__``, the guide's names, ``callback=`` everywhere."""

from __future__ import annotations

import inspect
import types

import pytest

import corduroy
from corduroy import Couch, Database

GUIDE_NAMES = [
    "Couch",
    "Database",
    "Document",
    "relax",
    "NotFound",
    "Conflict",
    "PreconditionFailed",
    "ServerError",
    "Unauthorized",
    "HTTPError",
    "defaults",
]


def test_all_lists_exactly_the_public_names() -> None:
    public = {
        name
        for name, value in vars(corduroy).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert set(corduroy.__all__) == public
    assert len(corduroy.__all__) == len(set(corduroy.__all__))
    assert corduroy.__all__ == sorted(corduroy.__all__, key=lambda n: (n[0].islower(), n))


def test_every_public_name_belongs_to_corduroy() -> None:
    for name in corduroy.__all__:
        value = getattr(corduroy, name)
        module = getattr(value, "__module__", None) or type(value).__module__
        assert module.startswith("corduroy"), (name, module)


@pytest.mark.parametrize("name", GUIDE_NAMES)
def test_the_guide_names_are_importable(name: str) -> None:
    namespace: dict[str, object] = {}
    exec(f"from corduroy import {name}", namespace)
    assert namespace[name] is getattr(corduroy, name)
    assert name in corduroy.__all__


def test_the_guide_errors_are_exceptions() -> None:
    for name in ("NotFound", "Conflict", "PreconditionFailed", "ServerError", "Unauthorized"):
        assert issubclass(getattr(corduroy, name), corduroy.HTTPError)


#: public methods that make no request when called, so take no ``callback``: they
#: return a local value, or an object (iterator, follower, partition handle) whose own
#: iteration or methods do the I/O in the caller's convention
LOCAL_METHODS = {
    Couch: {"close", "aclose", "database_class", "db_url", "node_health"},
    Database: {"partition", "iterview", "iterfind", "follow"},
}


def _public_methods(cls: type) -> list[str]:
    names = []
    for name, member in inspect.getmembers(cls):
        if name.startswith("_") or isinstance(inspect.getattr_static(cls, name), property):
            continue
        if callable(member) and name not in LOCAL_METHODS[cls]:
            names.append(name)
    return names


@pytest.mark.parametrize(
    ("cls", "name"), [(cls, name) for cls in (Couch, Database) for name in _public_methods(cls)]
)
def test_every_public_method_takes_a_callback_keyword(cls: type, name: str) -> None:
    signature = inspect.signature(getattr(cls, name))
    param = signature.parameters.get("callback")
    assert param is not None, f"{cls.__name__}.{name}{signature} has no callback="
    assert param.kind in (param.KEYWORD_ONLY, param.POSITIONAL_OR_KEYWORD)
    assert param.default is None


def test_the_core_methods_are_there() -> None:
    couch_methods = set(_public_methods(Couch))
    assert {"all_dbs", "create", "delete", "db", "uuids", "version", "info", "tasks"} <= (
        couch_methods
    )
    db_methods = set(_public_methods(Database))
    assert {"exists", "info", "create", "get", "save", "delete", "rev", "put"} <= db_methods
