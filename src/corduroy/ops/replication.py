"""Replication operations: ``_replicate``, ``_replicator`` documents, and watching them.

Endpoints (source and target) reach this module as :class:`Endpoint` values:
a url without credentials plus the credentials kept apart. How they are put in
the request body depends on the server: CouchDB 2+ takes object endpoints
(``{"url": ..., "headers": {"Authorization": ...}}``), which keep passwords
out of urls; pouchdb-server (1.x-style) answers 500 to those, so there the
credentials go in the url. The server is detected once (``GET /`` has a
``"couchdb"`` key on real CouchDB) and remembered in :class:`ServerTraits`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

from ..document import AttrDict
from ..errors import InvalidInput, NotFound, Timeout
from ..http.messages import Request, basic_header
from .base import Op, doc_path, dumps, json_request
from .io import NOW, Job, Sleep

__all__ = [
    "Endpoint",
    "ServerTraits",
    "detect_server",
    "poll_until",
    "replicate",
    "replication_status",
    "save_replicator_doc",
    "traits_for",
]

#: options copied into the replication body as they are
REPLICATION_OPTIONS = (
    "continuous",
    "create_target",
    "create_target_params",
    "doc_ids",
    "filter",
    "query_params",
    "selector",
    "since_seq",
    "cancel",
    "replication_id",
    "use_checkpoints",
    "checkpoint_interval",
    "worker_processes",
    "batch_size",
    "winning_revs_only",
    "owner",
)


class ServerTraits:
    """What corduroy learned about a server (detected once, then cached)."""

    __slots__ = ("__weakref__", "couchdb", "temp_views", "version")

    def __init__(self) -> None:
        self.couchdb: bool | None = None  # unknown until detected
        self.version: str | None = None
        self.temp_views: bool | None = None  # has POST /db/_temp_view? (learnt by db.query)


def traits_for(owner: Any) -> ServerTraits:
    """The :class:`ServerTraits` that ``owner`` (a ``Connection``) keeps in ``traits``."""
    traits: ServerTraits = owner.traits
    return traits


def detect_server(traits: ServerTraits) -> Op[ServerTraits]:
    """Fill ``traits`` from ``GET /`` unless already known."""
    if traits.couchdb is None:
        response = yield Request("GET", "/")
        info = response.json() or {}
        traits.couchdb = isinstance(info, dict) and "couchdb" in info
        traits.version = str(info.get("version", "")) if isinstance(info, dict) else ""
    return traits


@dataclass(frozen=True, slots=True)
class Endpoint:
    """A replication source or target: its url (no credentials) and how to log in."""

    url: str
    username: str | None = None
    password: str | None = None

    @classmethod
    def from_url(cls, url: str) -> Endpoint:
        """Split credentials out of ``http://user:pw@host/db``."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput("a replication url must be http(s)://host/db")
        netloc = parts.netloc.rpartition("@")[2]
        bare = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
        from urllib.parse import unquote

        user = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        return cls(bare, user, password)

    def encode(self, couchdb: bool) -> Any:
        """The endpoint as the server wants it in a replication body."""
        if self.username is None:
            return self.url
        if couchdb:
            name, value = basic_header(self.username, self.password or "")
            return {"url": self.url, "headers": {name: value}}
        parts = urlsplit(self.url)
        userinfo = quote(self.username, safe="") + ":" + quote(self.password or "", safe="")
        netloc = f"{userinfo}@{parts.netloc}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    def __repr__(self) -> str:
        who = f" as {self.username!r}" if self.username else ""
        return f"<Endpoint {self.url}{who}>"


def replication_body(
    source: Endpoint, target: Endpoint, options: Mapping[str, Any], couchdb: bool
) -> dict[str, Any]:
    """The JSON body of a replication (``_replicate`` or a ``_replicator`` doc)."""
    body: dict[str, Any] = {"source": source.encode(couchdb), "target": target.encode(couchdb)}
    for name, value in options.items():
        if value is None:
            continue
        if name not in REPLICATION_OPTIONS and not name.startswith("_"):
            raise InvalidInput(
                f"unknown replication option {name!r} (known: {', '.join(REPLICATION_OPTIONS)})"
            )
        if name == "doc_ids" and (
            isinstance(value, str) or not all(isinstance(i, str) for i in value)
        ):
            raise InvalidInput("doc_ids must be a list of document ids")
        body[name] = list(value) if name == "doc_ids" else value
    if "doc_ids" in body and ("selector" in body or "filter" in body):
        raise InvalidInput("doc_ids, filter and selector cannot be combined")
    if "selector" in body and "filter" in body:
        raise InvalidInput("filter and selector cannot be combined")
    return body


def replicate(
    traits: ServerTraits, source: Endpoint, target: Endpoint, **options: Any
) -> Op[AttrDict]:
    """``POST /_replicate``, or with ``_id=`` a new ``_replicator`` document.

    One-shot: returns when the replication is done (CouchDB's history, or
    pouchdb-server's counts). ``continuous=True``: returns at once.
    ``cancel=True`` with the same arguments stops a continuous one.
    """
    docid = options.pop("_id", None)
    replicator = options.pop("_replicator", "_replicator")
    # Asked every time, first: the request shown for a callback call (its RequestReplica)
    # is then this one, never the body that carries credentials.
    traits.couchdb = None
    yield from detect_server(traits)
    body = replication_body(source, target, options, traits.couchdb is True)
    secrets = [e.password for e in (source, target) if e.password]
    try:
        if docid is not None:
            body["_id"] = docid
            return (yield from save_replicator_doc(replicator, body))
        response = yield Request(
            "POST", "/_replicate", "", (("Content-Type", "application/json"),), dumps(body)
        )
    except Exception as exc:
        scrub_error(exc, [str(s) for s in secrets])
        raise
    return AttrDict(response.json())


def save_replicator_doc(replicator: str, body: dict[str, Any]) -> Op[AttrDict]:
    """``PUT /_replicator/<_id>``: a replication document (``{ok, id, rev}``)."""
    response = yield json_request("PUT", doc_path(replicator, body["_id"]), body)
    return AttrDict(response.json())


def replication_status(
    traits: ServerTraits, docid: str, replicator: str = "_replicator"
) -> Op[tuple[dict[str, Any], dict[str, Any] | None]]:
    """State of a ``_replicator`` document's replication: ``(scheduler entry, doc)``.

    On CouchDB 2+ the state comes from ``/_scheduler/docs`` (the doc itself
    only changes on completion); on 1.x-style servers (pouchdb-server) from
    the document's ``_replication_*`` fields. Raises ``NotFound`` if unknown.
    """
    yield from detect_server(traits)
    if traits.couchdb:
        path = "/_scheduler/docs/" + quote(replicator, safe="") + "/" + quote(docid, safe="")
        try:
            response = yield Request("GET", path)
        except NotFound:
            pass  # not (yet) seen by the scheduler: fall back to the document
        else:
            return response.json(), None
    response = yield Request("GET", doc_path(replicator, docid))
    return {}, response.json()


def scrub_error(exc: BaseException, secrets: list[str]) -> None:
    """Remove passwords a server may echo (urls in error reasons) from ``exc``, in place."""
    from ..errors import HTTPError

    secrets = [s for s in secrets if s]
    if not secrets or not isinstance(exc, HTTPError):
        return

    def clean(text: str) -> str:
        for secret in secrets:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
        return text

    if isinstance(exc.reason, str):
        exc.reason = clean(exc.reason)
    if isinstance(exc.body, str):
        exc.body = clean(exc.body)
    elif exc.body is not None:
        import orjson

        exc.body = orjson.loads(clean(orjson.dumps(exc.body).decode()))
    exc.args = (str(exc),)


T = TypeVar("T")


def poll_until(
    fetch: Callable[[], Op[T]], done: Callable[[T], bool], timeout: float | None, poll: float
) -> Job[T]:
    """Run ``fetch()`` every ``poll`` seconds until ``done(result)``; returns that result.

    Raises :class:`~corduroy.errors.Timeout` when the next look would come
    after ``timeout`` seconds (``None``: no limit), counted from the first
    answer; what ``done`` raises ends the polling too. The first instruction
    is ``fetch()``'s first request (a callback call's ``RequestReplica``).
    """
    deadline: float | None = None
    while True:
        result = yield from fetch()
        if done(result):
            return result
        if timeout is not None:
            now: float = yield NOW
            if deadline is None:
                deadline = now + timeout
            if now + poll > deadline:
                raise Timeout(f"still not done after {timeout} s")
        yield Sleep(poll)
