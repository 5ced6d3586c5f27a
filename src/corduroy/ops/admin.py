"""Administration operations: config, stats, health, sessions, users, security, replication helpers.

Node-scoped endpoints live under ``/_node/_local/`` on CouchDB 2+ and at the
root on 1.x-style servers (pouchdb-server: ``/_config``, ``/_stats``). The first
such call tries the 2+ path and falls back when the server does not know it;
what it found is remembered in the ``Couch``'s :class:`AdminState`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from ..document import AttrDict, Document
from ..errors import BadRequest, HTTPError, InvalidInput, NotFound, TransportError
from ..http.messages import Request
from .base import JSON_HEADERS, Op, db_path, json_request, query_string, validate_id

__all__ = [
    "AdminState",
    "BulkGetRow",
    "bulk_get",
    "commit",
    "config",
    "create_user",
    "logout",
    "membership",
    "revs_diff",
    "security",
    "session",
    "stats",
    "up",
]

NODE_LOCAL = "/_node/_local"
#: reasons of a 404/400 that mean "this server has no such endpoint", not "no such key"
_NO_ENDPOINT = frozenset({"no_db_file", "Database does not exist.", "missing", None})


class AdminState:
    """What a ``Couch`` learned about its server's admin API (detected once)."""

    def __init__(self) -> None:
        #: ``"/_node/_local"`` (CouchDB 2+), ``""`` (1.x style: pouchdb-server) or unknown
        self.node_prefix: str | None = None


def _unknown_endpoint(exc: HTTPError) -> bool:
    if isinstance(exc, BadRequest):  # 1.x: "_node" is an illegal database name
        return True
    return isinstance(exc, NotFound) and exc.reason in _NO_ENDPOINT


def _node_scoped(state: AdminState, make: Callable[[str], Request]) -> Op[Any]:
    """Send ``make(prefix)`` under the server's node prefix, detecting it if unknown."""
    prefix = state.node_prefix
    if prefix is not None:
        response = yield make(prefix)
        return response.json()
    try:
        response = yield make(NODE_LOCAL)
    except HTTPError as exc:
        if not _unknown_endpoint(exc):
            if isinstance(exc, NotFound):  # e.g. unknown_config_value: a 2+ server
                state.node_prefix = NODE_LOCAL
            raise
        try:
            response = yield make("")
        except HTTPError as second:
            if _unknown_endpoint(second):
                raise exc from None  # neither path: report the 2+ one
            state.node_prefix = ""
            raise
        state.node_prefix = ""
        return response.json()
    state.node_prefix = NODE_LOCAL
    return response.json()


def _path_parts(name: str | Sequence[str] | None, what: str) -> list[str]:
    if name is None:
        return []
    parts = name.split("/") if isinstance(name, str) else [str(p) for p in name]
    for part in parts:
        validate_id(part, f"{what} name part")
    return parts


def _config_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise InvalidInput(f"config values are strings (or numbers, booleans), not {value!r}")


def _wrap(value: Any) -> Any:
    return AttrDict(value) if isinstance(value, dict) else value


def config(
    state: AdminState,
    name: str | Sequence[str] | None = None,
    value: Any = None,
    delete: bool = False,
) -> Op[Any]:
    """Read, set or delete server config.

    ``name`` is ``None`` (everything), ``"section"`` or ``"section/key"`` (or a
    ``(section, key)`` pair). With ``value`` the key is set; with ``delete`` it
    is removed; both return the key's previous value (``""`` when it was unset).
    """
    parts = _path_parts(name, "config")
    if len(parts) > 2:
        raise InvalidInput(f"config name is 'section' or 'section/key', got {name!r}")
    writing = value is not None or delete
    if writing and len(parts) != 2:
        raise InvalidInput("setting or deleting config needs a 'section/key' name")
    if value is not None and delete:
        raise InvalidInput("give a value or delete=True, not both")
    suffix = "/_config" + "".join("/" + quote(part, safe="") for part in parts)

    def make(prefix: str) -> Request:
        if delete:
            return Request("DELETE", prefix + suffix)
        if value is not None:
            return json_request("PUT", prefix + suffix, _config_value(value))
        return Request("GET", prefix + suffix)

    return _wrap((yield from _node_scoped(state, make)))


def stats(state: AdminState, name: str | Sequence[str] | None = None) -> Op[Any]:
    """Server statistics: all of them, or one group or metric (``"couchdb/request_time"``).

    CouchDB answers ``None`` for an unknown metric.
    """
    parts = _path_parts(name, "stats")
    suffix = "/_stats" + "".join("/" + quote(part, safe="") for part in parts)
    return _wrap((yield from _node_scoped(state, lambda prefix: Request("GET", prefix + suffix))))


def up() -> Op[bool]:
    """Is the server up? ``GET /_up`` (``GET /`` where there is no ``/_up``).

    ``False`` also when the server cannot be reached at all.
    """
    try:
        yield Request("GET", "/_up", idempotent=True)
    except TransportError:
        return False
    except HTTPError as exc:
        status = exc.body.get("status") if isinstance(exc.body, dict) else None
        if isinstance(exc, NotFound) and status is None:  # no /_up here: ask GET /
            try:
                yield Request("GET", "/", idempotent=True)
            except TransportError:
                return False
            except HTTPError as root:
                return root.status < 500
            return True
        return exc.status in (401, 403)  # answered, but protects /_up
    return True


def membership() -> Op[AttrDict]:
    """``GET /_membership``: ``all_nodes`` and ``cluster_nodes``."""
    response = yield Request("GET", "/_membership")
    return AttrDict(response.json())


def session() -> Op[AttrDict]:
    """``GET /_session``: ``userCtx`` (``name``, ``roles``) and ``info``."""
    response = yield Request("GET", "/_session")
    return AttrDict(response.json())


def logout() -> Op[None]:
    """``DELETE /_session``: end the cookie session (the connection forgets the cookie)."""
    yield Request("DELETE", "/_session")


def create_user(name: str, password: str, roles: Iterable[str] = ()) -> Op[Document]:
    """Create user ``name`` in ``_users``; ``Conflict`` if there is one already."""
    validate_id(name, "user name")
    if not isinstance(password, str) or not password:
        raise InvalidInput("password must be a non-empty str")
    if isinstance(roles, str):
        raise InvalidInput("roles must be a list of role names, not one str")
    role_list = [validate_id(role, "role") for role in roles]
    docid = "org.couchdb.user:" + name
    user = {"_id": docid, "name": name, "type": "user", "roles": role_list}
    path = db_path("_users") + "/org.couchdb.user:" + quote(name, safe="")  # as CouchDB shows it
    response = yield json_request("PUT", path, {**user, "password": password})
    return Document({**user, "_rev": response.json()["rev"]})


# -- database administration ---------------------------------------------------------------


def security(db: str, value: Mapping[str, Any] | None = None) -> Op[AttrDict]:
    """Read the database's security object, or replace it with ``value``."""
    path = db_path(db) + "/_security"
    if value is None:
        response = yield Request("GET", path)
        return AttrDict(response.json() or {})
    if not isinstance(value, Mapping):
        raise InvalidInput("a security object is a dict with 'admins' and 'members'")
    yield json_request("PUT", path, dict(value))
    return AttrDict(dict(value))


def commit(db: str) -> Op[AttrDict]:
    """``POST /db/_ensure_full_commit`` (a no-op on CouchDB 2+, kept for old servers)."""
    response = yield Request("POST", db_path(db) + "/_ensure_full_commit", headers=JSON_HEADERS)
    return AttrDict(response.json())


def revs_diff(db: str, revs: Mapping[str, Iterable[str]]) -> Op[dict[str, AttrDict]]:
    """Which of the given revisions the database lacks, by document id.

    Returns ``{id: {"missing": [...], "possible_ancestors": [...]}}`` for the
    ids with something missing; ids the database has complete are left out.
    """
    if not isinstance(revs, Mapping):
        raise InvalidInput("revs_diff takes a {doc id: [revs]} mapping")
    body: dict[str, list[str]] = {}
    for docid, doc_revs in revs.items():
        validate_id(docid)
        body[docid] = [doc_revs] if isinstance(doc_revs, str) else list(doc_revs)
    response = yield json_request("POST", db_path(db) + "/_revs_diff", body, idempotent=True)
    return {docid: AttrDict(entry) for docid, entry in response.json().items()}


class BulkGetRow:
    """One document asked of ``bulk_get``: ``doc`` (a ``Document``) or ``error``/``reason``.

    CouchDB's and pouchdb-server's answers for missing documents differ; both
    come out the same here: ``doc`` is ``None`` and ``error`` is ``"not_found"``.
    """

    __slots__ = ("doc", "error", "id", "reason", "rev")

    def __init__(
        self,
        id: str,
        rev: str | None,
        doc: Document | None,
        error: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.id = id
        self.rev = rev
        self.doc = doc
        self.error = error
        self.reason = reason

    @property
    def ok(self) -> bool:
        return self.doc is not None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BulkGetRow) and all(
            getattr(self, slot) == getattr(other, slot) for slot in self.__slots__
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        if self.doc is not None:
            return f"<BulkGetRow {self.id!r} {self.rev}>"
        return f"<BulkGetRow {self.id!r} {self.error}: {self.reason}>"


def _bulk_get_row(
    docid: str, entry: Any, doc_class: type[Document], asked_rev: str | None
) -> BulkGetRow:
    if isinstance(entry, dict) and isinstance(entry.get("ok"), dict):
        doc = doc_class(entry["ok"])
        return BulkGetRow(docid, doc.get("_rev"), doc)
    if isinstance(entry, dict) and isinstance(entry.get("error"), dict):  # CouchDB 2+
        err = entry["error"]
        rev = err.get("rev")
        rev = None if rev in (None, "undefined") else rev
        return BulkGetRow(err.get("id", docid), rev, None, err.get("error"), err.get("reason"))
    missing = entry.get("missing") if isinstance(entry, dict) else None  # pouchdb-server
    return BulkGetRow(docid, missing or asked_rev, None, "not_found", "missing")


def bulk_get(
    db: str,
    docs: Iterable[str | tuple[str, str] | Mapping[str, Any]],
    doc_class: type[Document] = Document,
    **options: Any,
) -> Op[list[BulkGetRow]]:
    """Fetch many documents (or given revisions) in one ``POST /db/_bulk_get``.

    ``docs`` holds ids, ``(id, rev)`` pairs or ``{"id": ..., "rev": ...}``
    dicts. Options: ``revs``, ``latest``, ``attachments``. One row per document
    returned, in order.
    """
    wanted: list[dict[str, Any]] = []
    for item in docs:
        if isinstance(item, str):
            wanted.append({"id": validate_id(item)})
        elif isinstance(item, tuple):
            docid, rev = item
            wanted.append({"id": validate_id(docid), "rev": rev})
        elif isinstance(item, Mapping) and isinstance(item.get("id"), str):
            validate_id(item["id"])
            wanted.append(dict(item))
        else:
            raise InvalidInput(f"bulk_get takes ids, (id, rev) pairs or {{'id': ...}}: {item!r}")
    response = yield json_request(
        "POST",
        db_path(db) + "/_bulk_get",
        {"docs": wanted},
        query=query_string(options),
        idempotent=True,
    )
    asked = {entry["id"]: entry.get("rev") for entry in wanted}
    rows: list[BulkGetRow] = []
    for result in response.json().get("results", []):
        docid = result.get("id", "")
        for entry in result.get("docs") or [{}]:
            rows.append(_bulk_get_row(docid, entry, doc_class, asked.get(docid)))
    return rows
