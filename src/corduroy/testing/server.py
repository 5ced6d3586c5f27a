"""Launch pouchdb-server 4.2.0 as an embedded CouchDB stand-in.

Used by the pytest plugin, the demo and ``corduroy serve``; stdlib only, so it never depends on
corduroy's own client. The binary comes from ``tools/couch-standin`` in a checkout (``make
server-deps``), else from the user cache where ``corduroy serve --install`` puts it
(``corduroy.testing.install``).

    with EmbeddedServer() as server:
        print(server.url)          # http://admin:secret@127.0.0.1:PORT/

``python -m corduroy.testing.server`` starts one, prints its url and serves until Ctrl-C/SIGTERM.

Every server gets its own temp dir (config.json, server.log and, on disk, the LevelDB data) and
runs with that dir as its CWD, so nothing is written to the caller's CWD. docs/testing.md ("The
embedded server") says what pouchdb-server lacks; a few requests kill it, and ``ensure_alive``
restarts it on the same port.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import ctypes
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Self
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from .install import installed_binary

__all__ = [
    "EmbeddedServer",
    "ServerNotInstalledError",
    "ServerStartError",
    "fetch_root",
    "find_pouchdb_server",
    "main",
    "redact_url",
    "server_url_from_env",
]

ENV_BINARY = "CORDUROY_POUCHDB_SERVER"
STANDIN_DIR = Path("tools") / "couch-standin"
BIN_IN_NODE_MODULES = Path(".bin") / "pouchdb-server"
HOST = "127.0.0.1"
START_TIMEOUT = 15.0  # seconds until GET / must answer
POLL_INTERVAL = 0.05
ALIVE_TIMEOUT = 2.0
SAME_PORT_RETRY = 5.0  # a restart on a fixed port retries this long if the port is still busy
FREE_PORT_ATTEMPTS = 4
LOG_TAIL_LINES = 40
TEMP_PREFIX = "corduroy-couch-"
OWNER_FILE = "owner.pid"  # the Python process that owns a temp dir (see _sweep_orphans)

PathLike = str | os.PathLike[str]


class ServerNotInstalledError(RuntimeError):
    """pouchdb-server (or node) is not installed where the launcher looks for it."""


class ServerStartError(RuntimeError):
    """pouchdb-server did not start (or restart); the message has the tail of its log."""


# ---------------------------------------------------------------------------------------------
# Locating the binary


def _candidates(path: Path) -> list[Path]:
    """Where the binary may be, given a path the user pointed at."""
    return [
        path,  # the binary itself
        path / BIN_IN_NODE_MODULES,  # a node_modules dir
        path / "node_modules" / BIN_IN_NODE_MODULES,  # tools/couch-standin
        path / STANDIN_DIR / "node_modules" / BIN_IN_NODE_MODULES,  # a checkout
    ]


def find_pouchdb_server(node_modules: PathLike | None = None) -> Path:
    """Return the pouchdb-server binary.

    Looks at ``node_modules`` if given, else ``$CORDUROY_POUCHDB_SERVER`` if set (each may name
    the binary, a node_modules dir, ``tools/couch-standin`` or a checkout), else searches upward
    from this module and from the CWD for ``tools/couch-standin/node_modules/.bin/``, then in
    the user cache (``corduroy serve --install``, see ``corduroy.testing.install``).
    """
    explicit = node_modules if node_modules is not None else os.environ.get(ENV_BINARY) or None
    if explicit is not None:
        looked = _candidates(Path(explicit).expanduser())
    else:
        looked = []
        for start in (Path(__file__).resolve().parent, Path.cwd().resolve()):
            for directory in (start, *start.parents):
                looked.append(directory / STANDIN_DIR / "node_modules" / BIN_IN_NODE_MODULES)
    for candidate in looked:
        if candidate.is_file():
            return candidate
    if explicit is not None:
        raise ServerNotInstalledError(
            f"pouchdb-server is not installed in {explicit!s} (from the argument or "
            f"${ENV_BINARY}): point it at the pouchdb-server binary or its node_modules directory"
        )
    cached = installed_binary()
    if cached is not None:
        return cached
    raise ServerNotInstalledError(
        "pouchdb-server is not installed: run `corduroy serve --install` once (needs Node.js 20 "
        "and npm; `make server-deps` in a corduroy checkout), or set COUCHDB_URL to use a "
        f"CouchDB server instead (${ENV_BINARY}: an install of your own)"
    )


def _find_node() -> str:
    node = shutil.which("node")
    if node is None:
        raise ServerNotInstalledError(
            "`node` is not on PATH: pouchdb-server needs Node.js 20; install it, or set "
            "COUCHDB_URL to use a CouchDB server instead"
        )
    return node


# ---------------------------------------------------------------------------------------------
# Small stdlib HTTP helpers


def _basic_auth(user: str, password: str) -> str:
    token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


def fetch_root(url: str, timeout: float = 5.0) -> dict[str, Any]:
    """``GET /`` of a CouchDB-ish server (credentials in the url are sent as Basic auth).

    Returns the decoded JSON object; raises ``OSError``, ``http.client.HTTPException`` or
    ``ValueError`` when the server is unreachable, answers non-200 or not with a JSON object.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) url: {redact_url(url)}")
    conn_cls = (
        http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    )
    conn = conn_cls(parts.hostname, parts.port, timeout=timeout)
    headers = {"Accept": "application/json"}
    if parts.username is not None:
        headers["Authorization"] = _basic_auth(
            unquote(parts.username), unquote(parts.password or "")
        )
    try:
        conn.request("GET", parts.path or "/", headers=headers)
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise ValueError(f"GET {redact_url(url)} answered {response.status}: {body[:200]!r}")
    info = json.loads(body)
    if not isinstance(info, dict):
        raise ValueError(f"GET {redact_url(url)} did not answer a JSON object: {body[:200]!r}")
    return info


def redact_url(url: str) -> str:
    """The url without credentials (for messages and logs)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def _with_credentials(url: str, user: str, password: str | None) -> str:
    parts = urlsplit(url)
    creds = quote(user, safe="")
    if password is not None:
        creds += ":" + quote(password, safe="")
    netloc = creds + "@" + parts.netloc.rpartition("@")[2]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def server_url_from_env(environ: Mapping[str, str] | None = None) -> str | None:
    """``$COUCHDB_URL``, with ``$COUCHDB_USER``/``$COUCHDB_PASSWORD`` inserted as credentials
    when the url carries none; None when ``COUCHDB_URL`` is unset or empty."""
    env = os.environ if environ is None else environ
    url = env.get("COUCHDB_URL", "").strip()
    if not url:
        return None
    user = env.get("COUCHDB_USER") or None
    if user is not None and urlsplit(url).username is None:
        url = _with_credentials(url, user, env.get("COUCHDB_PASSWORD"))
    return url


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# ---------------------------------------------------------------------------------------------
# Dying with the parent (Linux): a hard-killed test run must not leave node processes behind.

_PR_SET_PDEATHSIG = 1
_libc: Any = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError):
        _libc = ctypes.CDLL(None, use_errno=True)


def _preexec() -> Callable[[], None] | None:
    # PDEATHSIG fires when the *thread* that forked exits, so only use it from the main thread.
    if _libc is None or threading.current_thread() is not threading.main_thread():
        return None
    libc = _libc

    def set_parent_death_signal() -> None:  # runs in the child between fork and exec
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)

    return set_parent_death_signal


# Strong references: a started server lives until stop(), at the latest at interpreter exit.
_RUNNING: set[EmbeddedServer] = set()


@atexit.register
def _stop_all() -> None:
    for server in list(_RUNNING):
        with contextlib.suppress(Exception):
            server.stop()


def _sweep_orphans() -> None:
    """Remove temp dirs left by processes that died without ``stop()`` (e.g. SIGKILL)."""
    for owner in Path(tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*/{OWNER_FILE}"):
        with contextlib.suppress(OSError, ValueError):
            pid = int(owner.read_text())
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                shutil.rmtree(owner.parent, ignore_errors=True)


# ---------------------------------------------------------------------------------------------


class EmbeddedServer:
    """One pouchdb-server process on a free 127.0.0.1 port, in its own temp dir.

    ``in_memory=False`` stores data with LevelDB under ``data_dir`` (default: in the temp dir),
    which survives ``kill()``/``restart()``/``ensure_alive()``; a ``data_dir`` you pass is never
    deleted. ``admin=None`` runs in admin-party mode. ``port`` fixes the port (default: a free
    one, kept across restarts). ``node_modules`` points at the install (see
    ``find_pouchdb_server``).
    """

    def __init__(
        self,
        *,
        in_memory: bool = True,
        admin: tuple[str, str] | None = ("admin", "secret"),
        port: int | None = None,
        data_dir: PathLike | None = None,
        node_modules: PathLike | None = None,
    ) -> None:
        if data_dir is not None and in_memory:
            raise ValueError("data_dir is only used on disk: pass in_memory=False as well")
        self._in_memory = in_memory
        self._admin = admin
        self._requested_port = port
        self._port: int | None = port
        self._user_data_dir = Path(data_dir).resolve() if data_dir is not None else None
        self._node_modules = node_modules
        self._uuid = uuid.uuid4().hex  # set in config.json; GET / must echo it back
        self._tmp: Path | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()

    # -- properties ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT/`` (no credentials)."""
        if self._port is None:
            raise RuntimeError("the server has not been started")
        return f"http://{HOST}:{self._port}/"

    @property
    def url(self) -> str:
        """``http://admin:secret@127.0.0.1:PORT/`` (credentials included when there is an admin)."""
        if self._admin is None:
            return self.base_url
        return _with_credentials(self.base_url, *self._admin)

    @property
    def port(self) -> int | None:
        return self._port

    @property
    def pid(self) -> int | None:
        """The node process id while it runs (None when stopped or dead)."""
        return self._proc.pid if self.is_running() and self._proc is not None else None

    @property
    def admin(self) -> tuple[str, str] | None:
        return self._admin

    @property
    def in_memory(self) -> bool:
        return self._in_memory

    @property
    def temp_dir(self) -> Path | None:
        """The dir this server created (config.json, server.log, data): removed by ``stop()``."""
        return self._tmp

    @property
    def data_dir(self) -> Path | None:
        if self._user_data_dir is not None:
            return self._user_data_dir
        return self._tmp / "data" if self._tmp is not None else None

    @property
    def log_path(self) -> Path | None:
        return self._tmp / "server.log" if self._tmp is not None else None

    def __repr__(self) -> str:
        state = f"pid={self.pid}" if self.is_running() else "stopped"
        where = self.base_url if self._port is not None else "no port yet"
        mode = "in-memory" if self._in_memory else f"on-disk {self.data_dir}"
        return f"<EmbeddedServer {where} {mode} {state}>"

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> str:
        """Start the server (no-op if running); return ``url`` (with credentials)."""
        with self._lock:
            if self.is_running():
                return self.url
            find_pouchdb_server(self._node_modules)  # fail early, before making a temp dir
            _find_node()
            fresh = self._tmp is None
            if self._tmp is None:
                _sweep_orphans()
                self._tmp = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX))
                (self._tmp / OWNER_FILE).write_text(str(os.getpid()))
            _RUNNING.add(self)  # from here on, exit cleans up
            try:
                if self._port is not None:
                    self._launch_retrying(self._port)
                else:
                    self._launch_on_a_free_port()
            except BaseException:
                if fresh:
                    self.stop()
                raise
            return self.url

    def _launch_on_a_free_port(self) -> None:
        error: ServerStartError | None = None
        for _ in range(FREE_PORT_ATTEMPTS):
            try:
                self._launch(_free_port())
                return
            except ServerStartError as exc:  # most likely someone took the port meanwhile
                self._port = None
                error = exc
        assert error is not None
        raise error

    def is_running(self) -> bool:
        """The node process exists (cheap; says nothing about whether it answers)."""
        return self._proc is not None and self._proc.poll() is None

    def is_alive(self) -> bool:
        """The process runs AND ``GET /`` answers (as this server) within 2 s."""
        return self.is_running() and self._answers(ALIVE_TIMEOUT)

    def ensure_alive(self) -> bool:
        """Restart a dead (or hung) server on the same port and data dir; True if it had to."""
        with self._lock:
            if self.is_alive():
                return False
            if self._tmp is None:
                self.start()
                return True
            self._terminate(signal.SIGKILL)
            assert self._port is not None
            self._launch_retrying(self._port)
            _RUNNING.add(self)
            return True

    def kill(self) -> None:
        """SIGKILL the node process (fault tests); the port and data dir are kept for restarts."""
        with self._lock:
            self._terminate(signal.SIGKILL)

    def restart(self) -> str:
        """SIGTERM the process and start it again on the same port and data dir."""
        with self._lock:
            if self._tmp is None:
                return self.start()
            self._terminate(signal.SIGTERM)
            assert self._port is not None
            self._launch_retrying(self._port)
            _RUNNING.add(self)
            return self.url

    def stop(self) -> None:
        """SIGTERM the process, wait for it, remove the temp dir. Idempotent."""
        with self._lock:
            self._terminate(signal.SIGTERM)
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
                self._tmp = None
            self._port = self._requested_port
            _RUNNING.discard(self)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals -----------------------------------------------------------------------------

    def _answers(self, timeout: float) -> bool:
        try:
            info = fetch_root(self.url, timeout=timeout)
        except (OSError, http.client.HTTPException, ValueError):
            return False
        return info.get("uuid") == self._uuid  # not some other server that took the port

    def _terminate(self, sig: signal.Signals) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def _write_config(self, path: Path) -> None:
        config: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(path.read_text())
            if isinstance(loaded, dict):
                config = loaded  # keep what the server wrote (hashed admins, sections)
        config["admins"] = dict([self._admin]) if self._admin is not None else {}
        config["log"] = {"file": "/dev/null", "level": "none"}
        config.setdefault("couchdb", {})["uuid"] = self._uuid
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2))
        tmp.replace(path)

    def _launch_retrying(self, port: int) -> None:
        """Launch on a fixed port; retry briefly while the port is still held."""
        deadline = time.monotonic() + SAME_PORT_RETRY
        while True:
            try:
                self._launch(port)
                return
            except ServerStartError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def _launch(self, port: int) -> None:
        assert self._tmp is not None
        binary = find_pouchdb_server(self._node_modules)
        node = _find_node()
        data_dir = self.data_dir
        assert data_dir is not None
        data_dir.mkdir(parents=True, exist_ok=True)
        config_path = self._tmp / "config.json"
        self._write_config(config_path)
        log_path = self._tmp / "server.log"
        cmd = [
            node, str(binary),
            "--port", str(port),
            "--host", HOST,
            "--config", str(config_path),
            "--dir", str(data_dir),
            "--no-stdout-logs",
            "--no-color",
        ]  # fmt: skip
        if self._in_memory:
            cmd.append("--in-memory")
        env = dict(os.environ)
        env.pop("PORT", None)
        with log_path.open("ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} {' '.join(cmd)}\n".encode())
            log.flush()
            proc = subprocess.Popen(
                cmd,
                cwd=self._tmp,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C in a terminal goes to us, not to node
                preexec_fn=_preexec(),
            )
        self._proc = proc
        self._port = port
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            code = proc.poll()
            if code is not None:
                self._proc = None
                raise ServerStartError(self._failure(f"exited with code {code}", port))
            if self._answers(min(ALIVE_TIMEOUT, max(deadline - time.monotonic(), 0.1))):
                return
            if time.monotonic() > deadline:
                self._terminate(signal.SIGKILL)
                raise ServerStartError(
                    self._failure(f"did not answer GET / within {START_TIMEOUT:.0f} s", port)
                )
            time.sleep(POLL_INTERVAL)

    def _failure(self, what: str, port: int) -> str:
        tail = ""
        if self.log_path is not None:
            with contextlib.suppress(OSError):
                lines = self.log_path.read_text(errors="replace").splitlines()
                tail = "\n".join(lines[-LOG_TAIL_LINES:])
        return f"pouchdb-server on {HOST}:{port} {what}. The end of its log:\n{tail}"


# ---------------------------------------------------------------------------------------------
# python -m corduroy.testing.server


def _parse_admin(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise argparse.ArgumentTypeError("expected USER:PASSWORD")
    return user, password


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m corduroy.testing.server",
        description="Start pouchdb-server (a CouchDB stand-in), print its url, serve until "
        "Ctrl-C/SIGTERM. A server that dies is restarted on the same port.",
    )
    parser.add_argument("--port", type=int, default=None, help="default: a free port")
    parser.add_argument("--on-disk", action="store_true", help="LevelDB instead of in-memory")
    parser.add_argument("--data-dir", default=None, help="LevelDB dir (implies --on-disk; kept)")
    parser.add_argument(
        "--admin", type=_parse_admin, default=("admin", "secret"), metavar="USER:PASSWORD",
        help="admin credentials (default admin:secret)",
    )  # fmt: skip
    parser.add_argument("--admin-party", action="store_true", help="no admin (everyone is admin)")
    parser.add_argument("--print-pid", action="store_true", help="print the pid on a 2nd line")
    parser.add_argument("--node-modules", default=None, help="where pouchdb-server is installed")
    args = parser.parse_args(argv)

    server = EmbeddedServer(
        in_memory=not (args.on_disk or args.data_dir),
        admin=None if args.admin_party else args.admin,
        port=args.port,
        data_dir=args.data_dir,
        node_modules=args.node_modules,
    )
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        url = server.start()
        print(url, flush=True)
        if args.print_pid:
            print(server.pid, flush=True)
        mode = "in memory" if server.in_memory else f"on disk in {server.data_dir}"
        print(f"pouchdb-server pid {server.pid}, {mode}; Ctrl-C to stop", file=sys.stderr)
        while not stopping.wait(0.5):
            if not server.is_running():
                print("pouchdb-server died; restarting it on the same port", file=sys.stderr)
                server.ensure_alive()
    except (ServerNotInstalledError, ServerStartError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
