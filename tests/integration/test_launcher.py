"""The embedded-server launcher and the pytest plugin, against the real pouchdb-server.

Uses only the stdlib over HTTP (not corduroy's client), so it tests the test harness alone.
"""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from corduroy.testing.server import (
    EmbeddedServer,
    ServerNotInstalledError,
    ServerStartError,
    find_pouchdb_server,
    server_url_from_env,
)

ADMIN = ("admin", "secret")


def call(
    server: EmbeddedServer,
    method: str,
    path: str,
    body: Any = None,
    auth: tuple[str, str] | None = ADMIN,
) -> tuple[int, Any]:
    """One request with http.client; returns (status, decoded JSON body)."""
    parts = urlsplit(server.base_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    headers = {"Accept": "application/json", "Content-Type": "application/json"}
    if auth is not None:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    try:
        data = None if body is None else json.dumps(body)
        conn.request(method, path, body=data, headers=headers)
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


def process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rpartition(")")[2].split()[0] == "Z"


@pytest.fixture
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer() as s:
        yield s


def test_binary_is_installed() -> None:
    assert find_pouchdb_server().name == "pouchdb-server"


def test_starts_and_answers_with_admin_auth(server: EmbeddedServer) -> None:
    port = server.port
    assert port is not None
    assert server.base_url == f"http://127.0.0.1:{port}/"
    assert server.url == f"http://admin:secret@127.0.0.1:{port}/"
    assert server.admin == ADMIN
    assert isinstance(server.pid, int)
    assert server.is_running() and server.is_alive()

    status, root = call(server, "GET", "/")
    assert status == 200
    assert "express-pouchdb" in root and "couchdb" not in root

    status, session = call(server, "GET", "/_session")
    assert status == 200
    assert session["userCtx"]["name"] == "admin"
    assert "_admin" in session["userCtx"]["roles"]
    assert call(server, "GET", "/_config/log")[0] == 200  # admin-only


def test_wrong_password_gives_401(server: EmbeddedServer) -> None:
    status, body = call(server, "GET", "/_session", auth=("admin", "wrong"))
    assert status == 401
    assert body["error"] == "unauthorized"
    assert call(server, "GET", "/_config", auth=None)[0] == 401  # an admin exists


def test_start_is_idempotent_and_context_manager_stops(server: EmbeddedServer) -> None:
    pid = server.pid
    assert server.start() == server.url
    assert server.pid == pid


def test_kill_then_ensure_alive_restarts_on_same_port(server: EmbeddedServer) -> None:
    port, pid = server.port, server.pid
    assert server.ensure_alive() is False  # nothing to do

    server.kill()
    assert not server.is_running() and not server.is_alive()
    assert server.pid is None

    assert server.ensure_alive() is True
    assert server.port == port
    assert server.pid is not None and server.pid != pid
    assert call(server, "GET", "/_session")[1]["userCtx"]["name"] == "admin"  # admin kept


def test_ensure_alive_after_a_request_that_kills_the_server(server: EmbeddedServer) -> None:
    # An anonymous PUT /db kills pouchdb-server once an admin exists.
    with pytest.raises((ConnectionError, http.client.HTTPException)):
        call(server, "PUT", "/crash-me", auth=None)
    deadline = time.monotonic() + 5
    while server.is_running() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not server.is_alive()
    assert server.ensure_alive() is True
    assert call(server, "GET", "/")[0] == 200


@pytest.mark.slow
def test_ensure_alive_replaces_a_hung_server(server: EmbeddedServer) -> None:
    pid = server.pid
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)  # running but not answering
    assert server.is_running() and not server.is_alive()
    assert server.ensure_alive() is True
    assert server.pid != pid and server.is_alive()


def test_restart_in_memory_forgets_data(server: EmbeddedServer) -> None:
    assert call(server, "PUT", "/scratch")[0] == 201
    server.restart()
    assert call(server, "GET", "/scratch")[0] == 404


def test_on_disk_keeps_a_document_across_restart() -> None:
    with EmbeddedServer(in_memory=False) as server:
        port = server.port
        assert call(server, "PUT", "/keep")[0] == 201
        assert call(server, "PUT", "/keep/doc", {"n": 1})[0] == 201
        assert server.data_dir is not None and (server.data_dir / "keep").is_dir()

        server.restart()
        assert server.port == port
        status, doc = call(server, "GET", "/keep/doc")
        assert status == 200 and doc["n"] == 1

        server.kill()
        server.ensure_alive()
        assert call(server, "GET", "/keep/doc")[1]["n"] == 1


def test_on_disk_with_own_data_dir_survives_stop(tmp_path: Path) -> None:
    data = tmp_path / "couch-data"
    with EmbeddedServer(in_memory=False, data_dir=data) as server:
        assert call(server, "PUT", "/mine")[0] == 201
        assert call(server, "PUT", "/mine/doc", {"n": 2})[0] == 201
    assert (data / "mine").is_dir()  # a data dir we were given is never deleted
    with EmbeddedServer(in_memory=False, data_dir=data) as server:
        assert call(server, "GET", "/mine/doc")[1]["n"] == 2


def test_data_dir_needs_on_disk(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="in_memory=False"):
        EmbeddedServer(data_dir=tmp_path)


def test_stop_removes_temp_dir_and_leaves_nothing_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for in_memory in (True, False):
        server = EmbeddedServer(in_memory=in_memory)
        server.start()
        temp_dir, pid = server.temp_dir, server.pid
        assert temp_dir is not None and temp_dir.is_dir()
        assert call(server, "PUT", "/somedb")[0] == 201
        server.stop()
        assert not temp_dir.exists()
        assert server.pid is None and not server.is_alive()
        assert pid is not None and process_gone(pid)
        server.stop()  # idempotent
    assert list(tmp_path.iterdir()) == []


def test_start_sweeps_temp_dirs_of_dead_owners() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    orphan = Path(tempfile.mkdtemp(prefix="corduroy-couch-"))
    (orphan / "owner.pid").write_text(str(dead.pid))
    mine = Path(tempfile.mkdtemp(prefix="corduroy-couch-"))
    (mine / "owner.pid").write_text(str(os.getpid()))
    try:
        with EmbeddedServer():
            assert not orphan.exists()
            assert mine.exists()  # its owner is alive
    finally:
        shutil.rmtree(mine, ignore_errors=True)
        shutil.rmtree(orphan, ignore_errors=True)


def test_fixed_port_and_admin_party() -> None:
    with EmbeddedServer() as first:
        port = first.port
    assert port is not None
    with EmbeddedServer(port=port, admin=None) as server:
        assert server.port == port
        assert server.url == server.base_url == f"http://127.0.0.1:{port}/"
        assert call(server, "PUT", "/party", auth=None)[0] == 201  # no admin: anyone may


@pytest.mark.slow
def test_start_failure_reports_the_log_and_cleans_up() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = EmbeddedServer(port=busy.getsockname()[1])
        with pytest.raises(ServerStartError, match=r"(?s)exited with code.*already in use"):
            server.start()
    assert server.temp_dir is None and server.pid is None


def test_missing_binary_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ServerNotInstalledError, match=r"not installed in .*: point it at"):
        EmbeddedServer(node_modules=tmp_path).start()
    monkeypatch.setenv("CORDUROY_POUCHDB_SERVER", str(tmp_path / "nowhere"))
    with pytest.raises(ServerNotInstalledError, match="CORDUROY_POUCHDB_SERVER"):
        find_pouchdb_server()


def test_binary_from_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    binary = find_pouchdb_server()
    standin = binary.parents[2]  # tools/couch-standin
    for value in (binary, binary.parents[1], standin, standin.parents[1]):
        monkeypatch.setenv("CORDUROY_POUCHDB_SERVER", str(value))
        assert find_pouchdb_server() == binary


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, None),
        ({"COUCHDB_URL": ""}, None),
        ({"COUCHDB_URL": "http://db.example:5984/"}, "http://db.example:5984/"),
        (
            {"COUCHDB_URL": "http://db.example:5984/", "COUCHDB_USER": "bob"},
            "http://bob@db.example:5984/",
        ),
        (
            {
                "COUCHDB_URL": "https://db.example/couch/",
                "COUCHDB_USER": "bob",
                "COUCHDB_PASSWORD": "p@ss:w/rd",
            },
            "https://bob:p%40ss%3Aw%2Frd@db.example/couch/",
        ),
        (  # credentials in the url win
            {
                "COUCHDB_URL": "http://ann:pw@127.0.0.1:5984",
                "COUCHDB_USER": "bob",
                "COUCHDB_PASSWORD": "x",
            },
            "http://ann:pw@127.0.0.1:5984",
        ),
    ],
)
def test_server_url_from_env(env: dict[str, str], expected: str | None) -> None:
    assert server_url_from_env(env) == expected


def test_server_url_from_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUCHDB_URL", "http://localhost:5984/")
    monkeypatch.setenv("COUCHDB_USER", "admin")
    monkeypatch.setenv("COUCHDB_PASSWORD", "secret")
    assert server_url_from_env() == "http://admin:secret@localhost:5984/"
    monkeypatch.delenv("COUCHDB_URL")
    assert server_url_from_env() is None


def test_python_m_prints_url_and_serves(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "corduroy.testing.server", "--print-pid"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        pid = int(proc.stdout.readline())
        parts = urlsplit(url)
        assert (parts.username, parts.password, parts.hostname) == ("admin", "secret", "127.0.0.1")
        conn = http.client.HTTPConnection("127.0.0.1", parts.port, timeout=10)
        conn.request("GET", "/", headers={"Accept": "application/json"})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    assert process_gone(pid)
    assert list(tmp_path.iterdir()) == []


# -- the pytest plugin -------------------------------------------------------------------------


def test_plugin_session_server(couchdb_server: EmbeddedServer | None, couchdb_url: str) -> None:
    if server_url_from_env() is not None:
        assert couchdb_server is None
        assert couchdb_url == server_url_from_env()
    else:
        assert couchdb_server is not None and couchdb_server.is_alive()
        assert couchdb_url == couchdb_server.url


PLUGIN_TESTS = textwrap.dedent(
    """
    import pytest

    @pytest.mark.real_couchdb
    def test_real(couchdb_url):
        pass

    def test_url(couchdb_url, couchdb_server):
        assert couchdb_url.startswith("http://")
        assert (couchdb_server is None) == {env_given}
    """
)


def _run_inner(pytester: pytest.Pytester, env_given: bool) -> pytest.RunResult:
    pytester.makepyfile(PLUGIN_TESTS.format(env_given=env_given))
    return pytester.runpytest_subprocess("-rs", "-p", "no:cacheprovider")


def test_plugin_skips_real_couchdb_on_embedded_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COUCHDB_URL", raising=False)
    result = _run_inner(pytester, env_given=False)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["corduroy: target server embedded pouchdb-server*"])
    result.stdout.fnmatch_lines(["SKIPPED*: needs a real CouchDB 2+/3 (set COUCHDB_URL)"])
    result.stdout.fnmatch_lines(["corduroy: tests ran against pouchdb-server http://127.0.0.1:*/"])


def test_plugin_skips_real_couchdb_when_couchdb_url_is_pouchdb_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: EmbeddedServer
) -> None:
    monkeypatch.setenv("COUCHDB_URL", server.base_url)
    monkeypatch.setenv("COUCHDB_USER", "admin")
    monkeypatch.setenv("COUCHDB_PASSWORD", "secret")
    result = _run_inner(pytester, env_given=True)
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([f"corduroy: target server {server.base_url} (COUCHDB_URL, not*"])
    assert "secret" not in result.stdout.str()


class _FakeCouchDB(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = json.dumps({"couchdb": "Welcome", "version": "3.4.3"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_plugin_runs_real_couchdb_tests_on_a_real_couchdb(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FakeCouchDB)
    thread = threading.Thread(target=fake.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("COUCHDB_URL", f"http://127.0.0.1:{fake.server_address[1]}/")
        result = _run_inner(pytester, env_given=True)
    finally:
        fake.shutdown()
        fake.server_close()
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["corduroy: target server http://127.0.0.1:*CouchDB 3.4.3)"])


def test_plugin_is_quiet_when_no_test_uses_its_fixtures(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COUCHDB_URL", raising=False)
    monkeypatch.setenv("CORDUROY_POUCHDB_SERVER", str(pytester.path / "nowhere"))
    pytester.makepyfile("def test_plain():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert "corduroy:" not in result.stdout.str()


def test_plugin_says_in_one_line_per_test_when_there_is_no_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("COUCHDB_URL", raising=False)
    monkeypatch.setenv("CORDUROY_POUCHDB_SERVER", str(pytester.path / "nowhere"))
    pytester.makepyfile(
        "def test_a(tmp_db):\n    pass\n\n"
        "def test_b(couch):\n    pass\n\n"
        "def test_c(couchdb_url):\n    pass\n\n"
        "def test_d():\n    pass\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=3)
    out = result.stdout.str()
    assert "Traceback" not in out and "During handling" not in out
    said = [line for line in out.splitlines() if line.startswith("corduroy: no CouchDB")]
    assert len(said) == 3  # one line for each test that needed the server
    assert "pouchdb-server is not installed in" in said[0]
    assert len(out.splitlines()) < 30, out


def test_plugin_takes_couchdb_url_option(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, server: EmbeddedServer
) -> None:
    monkeypatch.delenv("COUCHDB_URL", raising=False)
    monkeypatch.setenv("COUCHDB_USER", "admin")
    monkeypatch.setenv("COUCHDB_PASSWORD", "secret")
    pytester.makepyfile(PLUGIN_TESTS.format(env_given=True))
    result = pytester.runpytest_subprocess(
        "-rs", "-p", "no:cacheprovider", "--couchdb-url", server.base_url
    )
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines([f"corduroy: target server {server.base_url} (--couchdb-url, *"])
    assert "secret" not in result.stdout.str()


def test_plugin_reports_a_url_that_is_not_http(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COUCHDB_URL", "localhost:5984")
    pytester.makepyfile("def test_plain():\n    pass\n\ndef test_db(tmp_db):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["corduroy: misconfigured COUCHDB_URL: localhost:5984 is not an http(s) url with a host"]
    )


def test_plugin_says_in_one_line_that_the_couchdb_url_does_not_answer(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("COUCHDB_URL", f"http://admin:hush@127.0.0.1:{port}/")
    pytester.makepyfile("def test_a(tmp_db):\n    pass\n\ndef test_b(couch):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(errors=2)
    out = result.stdout.str()
    said = [line for line in out.splitlines() if line.startswith("corduroy: misconfigured")]
    assert (
        said
        == [
            f"corduroy: misconfigured COUCHDB_URL: http://127.0.0.1:{port}/ does not answer GET / "
            "([Errno 111] Connection refused)"
        ]
        * 2
    )
    assert "Traceback" not in out and "hush" not in out
