"""Server-level operations: databases, uuids, server info, active tasks."""

from __future__ import annotations

import threading
from collections import deque
from typing import Any

from ..document import AttrDict
from ..errors import CouchError, InvalidInput, NotFound, PreconditionFailed
from ..http.messages import Request
from .base import Op, db_path, json_request, query_string

__all__ = [
    "UuidCache",
    "active_tasks",
    "all_dbs",
    "create_db",
    "db_exists",
    "delete_db",
    "ensure_db",
    "server_info",
    "take_uuids",
    "uuids",
]

UUID_BATCH = 100
UUID_MAX_COUNT = 1000  # CouchDB's default [uuids] max_count


def server_info() -> Op[AttrDict]:
    """``GET /``: the welcome object (version, vendor, features)."""
    response = yield Request("GET", "/")
    return AttrDict(response.json())


def all_dbs(**options: Any) -> Op[list[str]]:
    """``GET /_all_dbs``: the names of all databases."""
    response = yield Request("GET", "/_all_dbs", query_string(options, ("startkey", "endkey")))
    names: list[str] = response.json()
    return names


def db_exists(name: str) -> Op[bool]:
    """``HEAD /db``: whether the database exists."""
    try:
        yield Request("HEAD", db_path(name))
    except NotFound:
        return False
    return True


def create_db(name: str, **options: Any) -> Op[None]:
    """``PUT /db``; raises :class:`PreconditionFailed` if it exists already."""
    yield json_request("PUT", db_path(name), query=query_string(options))


def ensure_db(name: str, create: bool) -> Op[None]:
    """Check that a database exists; with ``create``, create it if it does not."""
    if (yield from db_exists(name)):
        return
    if not create:
        raise NotFound(404, "not_found", f"Database {name!r} does not exist.")
    try:
        yield from create_db(name)
    except PreconditionFailed:  # created meanwhile by someone else: fine
        pass


def delete_db(name: str) -> Op[None]:
    """``DELETE /db``; raises :class:`NotFound` if there is no such database."""
    yield Request("DELETE", db_path(name))


def uuids(count: int = 1) -> Op[list[str]]:
    """``GET /_uuids?count=N``: ``count`` fresh ids from the server."""
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise InvalidInput(f"count must be a positive int, got {count!r}")
    response = yield Request("GET", "/_uuids", f"count={count}")
    ids: list[str] = response.json()["uuids"]
    return ids


class UuidCache:
    """Server-made ids, fetched in batches and handed out one at a time (thread-safe)."""

    def __init__(self) -> None:
        self._ids: deque[str] = deque()
        self._lock = threading.Lock()

    def take(self, n: int) -> list[str] | None:
        """``n`` cached ids, or ``None`` (taking none) when fewer are cached."""
        with self._lock:
            if len(self._ids) < n:
                return None
            return [self._ids.popleft() for _ in range(n)]

    def add(self, ids: list[str]) -> None:
        with self._lock:
            self._ids.extend(ids)

    def __len__(self) -> int:
        return len(self._ids)


def take_uuids(cache: UuidCache, n: int) -> Op[list[str]]:
    """``n`` ids for new documents, from the cache, refilled from ``/_uuids`` as needed."""
    if n <= 0:
        return []
    while True:
        taken = cache.take(n)
        if taken is not None:
            return taken
        want = min(UUID_MAX_COUNT, max(UUID_BATCH, n - len(cache)))
        fresh = yield from uuids(want)
        if not fresh:
            raise CouchError(f"the server answered /_uuids?count={want} with no ids")
        cache.add(fresh)


def active_tasks() -> Op[list[AttrDict]]:
    """``GET /_active_tasks``: running compactions, replications, indexers."""
    response = yield Request("GET", "/_active_tasks")
    return [AttrDict(task) for task in response.json()]
