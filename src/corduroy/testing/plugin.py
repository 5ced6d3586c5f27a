"""pytest plugin (entry point ``pytest11: corduroy``): a CouchDB for the test session.

Fixtures:

``couchdb_url``
    session: ``$COUCHDB_URL`` (plus ``$COUCHDB_USER``/``$COUCHDB_PASSWORD``) if set, else the
    url (with admin credentials) of an embedded pouchdb-server started for the session.
``couchdb_server``
    session: that ``EmbeddedServer``, or None when ``COUCHDB_URL`` is used.
``couch``
    function: a ``corduroy.Couch`` for ``couchdb_url``; restarts the embedded server first if an
    earlier test killed it (SERVER.md section 3).
``tmp_db``
    function: a fresh database ``corduroy-test-<12 hex>`` (a ``corduroy.Database``), deleted
    afterwards.

Marker ``real_couchdb``: skipped unless the target is a real CouchDB (``GET /`` has a
``"couchdb"`` key), i.e. always on the embedded pouchdb-server.
"""

from __future__ import annotations

import contextlib
import http.client
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from .server import (
    EmbeddedServer,
    ServerNotInstalledError,
    fetch_root,
    find_pouchdb_server,
    redact_url,
    server_url_from_env,
)

if TYPE_CHECKING:
    from corduroy import Couch, Database

REAL_COUCHDB_REASON = "needs a real CouchDB 2+/3 (set COUCHDB_URL)"

_server_key = pytest.StashKey[EmbeddedServer]()
_served_key = pytest.StashKey[str]()  # base url of the embedded server, for the summary
_target_key = pytest.StashKey[dict[str, Any] | None]()


def pytest_configure(config: pytest.Config) -> None:
    # Declared here too, so projects using the plugin need not declare them.
    config.addinivalue_line(
        "markers", "real_couchdb: needs a real CouchDB 2+/3 (set COUCHDB_URL); skipped otherwise"
    )
    config.addinivalue_line(
        "markers", "kills_server: may kill pouchdb-server; the fixtures restart it"
    )


def _target_info(config: pytest.Config) -> dict[str, Any] | None:
    """Session-cached ``GET /`` of ``$COUCHDB_URL`` (None if unset or unreachable)."""
    if _target_key not in config.stash:
        url = server_url_from_env()
        info: dict[str, Any] | None = None
        if url is not None:
            with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
                info = fetch_root(url, timeout=5.0)
        config.stash[_target_key] = info
    return config.stash[_target_key]


def _targets_real_couchdb(config: pytest.Config) -> bool:
    """Is the target a real CouchDB? The embedded server never is. An unreachable
    ``COUCHDB_URL`` counts as real, so its tests run and fail saying why."""
    if server_url_from_env() is None:
        return False
    info = _target_info(config)
    return info is None or "couchdb" in info


def pytest_report_header(config: pytest.Config) -> str:
    url = server_url_from_env()
    if url is not None:
        info = _target_info(config)
        if info is None:
            what = "NOT reachable"
        elif "couchdb" in info:
            what = f"CouchDB {info.get('version', '?')}"
        else:
            what = "not a real CouchDB: real_couchdb tests are skipped"
        return f"corduroy: target server {redact_url(url)} (COUCHDB_URL, {what})"
    try:
        where = f"from {find_pouchdb_server()}"
    except ServerNotInstalledError:
        where = "NOT INSTALLED: run `make server-deps`"
    return (
        "corduroy: target server embedded pouchdb-server on http://127.0.0.1:<free port>/ "
        f"(started on first use, {where}); set COUCHDB_URL for another server"
    )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("real_couchdb") is not None:
        if not _targets_real_couchdb(item.config):
            pytest.skip(REAL_COUCHDB_REASON)
    # Cheap (no request): revive a server that a previous test killed, for every test.
    server = item.config.stash.get(_server_key, None)
    if server is not None and server.temp_dir is not None and not server.is_running():
        server.ensure_alive()


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, config: pytest.Config
) -> None:
    served = config.stash.get(_served_key, None)
    if served is not None:
        terminalreporter.write_line(f"corduroy: tests ran against pouchdb-server {served}")


@pytest.fixture(scope="session")
def couchdb_server(pytestconfig: pytest.Config) -> Iterator[EmbeddedServer | None]:
    """The session's embedded pouchdb-server, or None when ``COUCHDB_URL`` is set."""
    if server_url_from_env() is not None:
        yield None
        return
    server = EmbeddedServer()
    server.start()
    pytestconfig.stash[_server_key] = server
    pytestconfig.stash[_served_key] = server.base_url
    try:
        yield server
    finally:
        del pytestconfig.stash[_server_key]
        server.stop()


@pytest.fixture(scope="session")
def couchdb_url(couchdb_server: EmbeddedServer | None) -> str:
    """The server url for the session, credentials included."""
    if couchdb_server is not None:
        return couchdb_server.url
    url = server_url_from_env()
    assert url is not None
    return url


@pytest.fixture
def couch(couchdb_url: str, couchdb_server: EmbeddedServer | None) -> Iterator[Couch]:
    """A ``corduroy.Couch`` for the session's server (revived first if a test killed it)."""
    from corduroy import Couch

    if couchdb_server is not None:
        couchdb_server.ensure_alive()
    client = Couch(couchdb_url)
    try:
        yield client
    finally:
        with contextlib.suppress(Exception):
            client.close()


@pytest.fixture
def tmp_db(couch: Couch, couchdb_server: EmbeddedServer | None) -> Iterator[Database]:
    """A new, uniquely named database; deleted after the test."""
    name = f"corduroy-test-{uuid.uuid4().hex[:12]}"
    db = couch.create(name)
    try:
        yield db
    finally:
        # A dead in-memory server took the database with it; don't wait on a dead socket.
        if couchdb_server is None or couchdb_server.is_alive():
            with contextlib.suppress(Exception):
                couch.delete(name)
