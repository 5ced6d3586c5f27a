"""pytest plugin (entry point ``pytest11: corduroy``): a CouchDB for the test session.

Fixtures:

``couchdb_url``
    session: ``--couchdb-url`` or ``$COUCHDB_URL`` (plus ``$COUCHDB_USER``/``$COUCHDB_PASSWORD``)
    if given, else the url (with admin credentials) of an embedded pouchdb-server started for
    the session. The first session without a pouchdb-server installs the pinned one with npm
    into the user cache (``corduroy.testing.install``), saying so in one line.
``couchdb_server``
    session: that ``EmbeddedServer``, or None when a url is given.
``couch``
    function: a ``corduroy.Couch`` for ``couchdb_url``; restarts the embedded server first if an
    earlier test killed it (a few requests kill pouchdb-server: docs/testing.md).
``tmp_db``
    function: a fresh database ``corduroy-test-<12 hex>`` (a ``corduroy.Database``), deleted
    afterwards.

Marker ``real_couchdb``: skipped unless the target is a real CouchDB (``GET /`` has a
``"couchdb"`` key), i.e. always on the embedded pouchdb-server.

The plugin is quiet in a run whose tests use none of its fixtures: it prints its target server
after collection only when some test uses them, or when ``--couchdb-url``/``COUCHDB_URL`` is not
an http(s) url. When no server can be had, the tests that need one fail with one line saying
what to do.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

from .install import ServerInstallError, install_pouchdb_server
from .server import (
    ENV_BINARY,
    EmbeddedServer,
    ServerNotInstalledError,
    ServerStartError,
    fetch_root,
    find_pouchdb_server,
    redact_url,
    server_url_from_env,
)

if TYPE_CHECKING:
    from corduroy import Couch, Database

REAL_COUCHDB_REASON = "needs a real CouchDB 2+/3 (set COUCHDB_URL)"
FIXTURES = frozenset({"couchdb_url", "couchdb_server", "couch", "tmp_db"})

_server_key = pytest.StashKey[EmbeddedServer]()
_served_key = pytest.StashKey[str]()  # base url of the embedded server, for the summary
_target_key = pytest.StashKey[dict[str, Any] | None]()
_said_key = pytest.StashKey[bool]()  # _say has written a line


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("corduroy", "corduroy CouchDB fixtures")
    group.addoption(
        "--couchdb-url",
        default=None,
        metavar="URL",
        help="CouchDB server for the couch/tmp_db fixtures (default: $COUCHDB_URL, else an "
        "embedded pouchdb-server)",
    )


def pytest_configure(config: pytest.Config) -> None:
    # Declared here too, so projects using the plugin need not declare them.
    config.addinivalue_line(
        "markers", "real_couchdb: needs a real CouchDB 2+/3 (set COUCHDB_URL); skipped otherwise"
    )
    config.addinivalue_line(
        "markers", "kills_server: may kill pouchdb-server; the fixtures restart it"
    )


def target_url(config: pytest.Config) -> str | None:
    """``--couchdb-url`` (with ``$COUCHDB_USER``/``$COUCHDB_PASSWORD`` as for ``COUCHDB_URL``),
    else ``$COUCHDB_URL``; None for the embedded server."""
    given = config.getoption("couchdb_url", None)
    if given:
        return server_url_from_env({**os.environ, "COUCHDB_URL": str(given)})
    return server_url_from_env()


def _source(config: pytest.Config) -> str:
    """Where the target url came from."""
    return "--couchdb-url" if config.getoption("couchdb_url", None) else "COUCHDB_URL"


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{redact_url(url)} is not an http(s) url with a host"
    return None


def _unanswered(url: str) -> str | None:
    """Why ``GET /`` of ``url`` fails, or None when it answers."""
    try:
        fetch_root(url, timeout=10.0)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return f"{redact_url(url)} does not answer GET / ({' '.join(str(exc).split())})"
    return None


def _target_info(config: pytest.Config) -> dict[str, Any] | None:
    """Session-cached ``GET /`` of the given url (None if none or unreachable)."""
    if _target_key not in config.stash:
        url = target_url(config)
        info: dict[str, Any] | None = None
        if url is not None:
            with contextlib.suppress(OSError, http.client.HTTPException, ValueError):
                info = fetch_root(url, timeout=5.0)
        config.stash[_target_key] = info
    return config.stash[_target_key]


def _targets_real_couchdb(config: pytest.Config) -> bool:
    """Is the target a real CouchDB? The embedded server never is. An unreachable
    url counts as real, so its tests run and fail saying why."""
    if target_url(config) is None:
        return False
    info = _target_info(config)
    return info is None or "couchdb" in info


def _target_line(config: pytest.Config) -> str:
    url = target_url(config)
    if url is not None:
        info = _target_info(config)
        if info is None:
            what = "NOT reachable"
        elif "couchdb" in info:
            what = f"CouchDB {info.get('version', '?')}"
        else:
            what = "not a real CouchDB: real_couchdb tests are skipped"
        return f"corduroy: target server {redact_url(url)} ({_source(config)}, {what})"
    try:
        where = f"from {find_pouchdb_server()}"
    except ServerNotInstalledError:
        where = "not installed yet: installed with npm on first use"
    return (
        "corduroy: target server embedded pouchdb-server on http://127.0.0.1:<free port>/ "
        f"(started on first use, {where}); set COUCHDB_URL for another server"
    )


def pytest_report_collectionfinish(
    config: pytest.Config, start_path: Path, items: Sequence[pytest.Item]
) -> str | list[str]:
    """The target server, once collection shows that some test uses the fixtures."""
    url = target_url(config)
    problem = _url_problem(url) if url is not None else None
    if problem is not None:
        return f"corduroy: misconfigured {_source(config)}: {problem}"
    if not any(FIXTURES.intersection(getattr(item, "fixturenames", ())) for item in items):
        return []
    return _target_line(config)


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


def _say(config: pytest.Config, line: str) -> None:
    """A line on the terminal during a fixture's set-up (output capture set aside); the
    first one starts on a line of its own, after the test's progress so far."""
    capture = config.pluginmanager.getplugin("capturemanager")
    writer = config.get_terminal_writer()
    with capture.global_and_fixture_disabled() if capture else contextlib.nullcontext():
        if not config.stash.get(_said_key, False):
            writer.line()
            config.stash[_said_key] = True
        writer.line(line)


def _start_embedded(config: pytest.Config) -> EmbeddedServer:
    """An embedded server, installed first if need be; a failure is one line for each test."""
    try:
        try:
            find_pouchdb_server()
        except ServerNotInstalledError:
            if os.environ.get(ENV_BINARY):
                raise
            install_pouchdb_server(progress=lambda line: _say(config, line))
        server = EmbeddedServer()
        server.start()
        return server
    except (ServerNotInstalledError, ServerInstallError, ServerStartError) as exc:
        message = str(exc)
        if not isinstance(exc, ServerStartError):  # that one keeps the tail of the server's log
            message = " ".join(message.split())
    # Outside the except block: no "during handling of the above exception" chain.
    pytest.fail(f"corduroy: no CouchDB for the tests: {message}", pytrace=False)


@pytest.fixture(scope="session")
def couchdb_server(pytestconfig: pytest.Config) -> Iterator[EmbeddedServer | None]:
    """The session's embedded pouchdb-server, or None when a url is given."""
    url = target_url(pytestconfig)
    if url is not None:
        problem = _url_problem(url) or _unanswered(url)
        if problem is not None:
            pytest.fail(
                f"corduroy: misconfigured {_source(pytestconfig)}: {problem}", pytrace=False
            )
        yield None
        return
    server = _start_embedded(pytestconfig)
    pytestconfig.stash[_server_key] = server
    pytestconfig.stash[_served_key] = server.base_url
    try:
        yield server
    finally:
        del pytestconfig.stash[_server_key]
        server.stop()


@pytest.fixture(scope="session")
def couchdb_url(pytestconfig: pytest.Config, couchdb_server: EmbeddedServer | None) -> str:
    """The server url for the session, credentials included."""
    if couchdb_server is not None:
        return couchdb_server.url
    url = target_url(pytestconfig)
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
