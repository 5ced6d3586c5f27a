"""Install the pinned pouchdb-server with npm into the user's cache, for pip users.

A checkout gets pouchdb-server from ``make server-deps`` (``tools/couch-standin``). An installed
corduroy carries the same pinned ``package.json`` and ``package-lock.json`` as package data
(``corduroy/testing/standin/``); ``install_pouchdb_server()`` (``corduroy serve --install``, or
the pytest plugin on first use) runs ``npm ci`` on them into

    $CORDUROY_CACHE_DIR/pouchdb-server-VERSION      when CORDUROY_CACHE_DIR is set
    $XDG_CACHE_HOME/corduroy/pouchdb-server-VERSION  else, XDG_CACHE_HOME defaulting to ~/.cache

Stdlib only, like the launcher. The install goes to a staging dir that is renamed into place
when complete, under a file lock, so an interrupted or concurrent install never leaves a
half-installed server behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

__all__ = [
    "ENV_CACHE",
    "ServerInstallError",
    "cache_root",
    "install_dir",
    "install_pouchdb_server",
    "installed_binary",
    "pinned_version",
]

ENV_CACHE = "CORDUROY_CACHE_DIR"
PACKAGE_FILES = ("package.json", "package-lock.json")
STANDIN_DATA = Path(__file__).resolve().parent / "standin"
STAMP = ".corduroy-installed"
BINARY = Path("node_modules") / ".bin" / "pouchdb-server"
NPM_TIMEOUT = 900.0  # seconds; a cold install on a slow network takes a few minutes
NPM_ARGS = ("ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error")


class ServerInstallError(RuntimeError):
    """pouchdb-server could not be installed (no npm, or ``npm ci`` failed)."""


def pinned_version() -> str:
    """The pouchdb-server version this corduroy pins (from its package.json)."""
    manifest = json.loads((STANDIN_DATA / "package.json").read_text())
    version: str = manifest["dependencies"]["pouchdb-server"]
    return version


def cache_root(environ: Mapping[str, str] | None = None) -> Path:
    """``$CORDUROY_CACHE_DIR``, else ``$XDG_CACHE_HOME/corduroy`` (default ``~/.cache``)."""
    env = os.environ if environ is None else environ
    explicit = env.get(ENV_CACHE, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    xdg = env.get("XDG_CACHE_HOME", "").strip()
    base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "corduroy"


def install_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where the pinned pouchdb-server is (or would be) installed."""
    return cache_root(environ) / f"pouchdb-server-{pinned_version()}"


def installed_binary(environ: Mapping[str, str] | None = None) -> Path | None:
    """The binary of a complete install in the user cache, or None."""
    target = install_dir(environ)
    binary = target / BINARY
    return binary if (target / STAMP).is_file() and binary.is_file() else None


def _print_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (POSIX; elsewhere no lock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _last_line(log: Path) -> str:
    with contextlib.suppress(OSError):
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines()]
        for line in reversed(lines):
            if line:
                return line
    return "no output"


def install_pouchdb_server(
    *,
    progress: Callable[[str], None] | None = _print_progress,
    environ: Mapping[str, str] | None = None,
) -> Path:
    """Install the pinned pouchdb-server into the user cache (no-op when it is there already);
    return its binary.

    ``progress`` gets one line before ``npm ci`` starts and one when it is done (default:
    stderr; None for silence). Raises ``ServerInstallError`` with one line saying what to do
    when npm is missing or fails (npm's full output is kept in ``npm-error.log`` beside the
    install dir).
    """
    say = progress or (lambda line: None)
    found = installed_binary(environ)
    if found is not None:
        return found
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        raise ServerInstallError(
            "cannot install pouchdb-server: `node` and `npm` (Node.js 20) are not on PATH; "
            "install Node.js 20, or set COUCHDB_URL to a CouchDB server to use instead"
        )
    target = install_dir(environ)
    version = target.name.removeprefix("pouchdb-server-")
    target.parent.mkdir(parents=True, exist_ok=True)
    with _locked(target.parent / f".{target.name}.lock"):
        found = installed_binary(environ)  # another process may have installed it meanwhile
        if found is not None:
            return found
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        try:
            for name in PACKAGE_FILES:
                shutil.copyfile(STANDIN_DATA / name, staging / name)
            say(
                f"corduroy: installing pouchdb-server {version} with npm into {target} "
                "(once; this can take a minute)"
            )
            started = time.monotonic()
            log = staging / "npm.log"
            with log.open("wb") as out:
                code = subprocess.call(
                    [npm, *NPM_ARGS, "--prefer-offline"],
                    cwd=staging,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    timeout=NPM_TIMEOUT,
                )
            if code != 0 or not (staging / BINARY).is_file():
                kept = target.parent / "npm-error.log"
                shutil.copyfile(log, kept)
                raise ServerInstallError(
                    f"cannot install pouchdb-server: npm ci failed (exit {code}): "
                    f"{_last_line(log)} (npm's output: {kept}); "
                    "or set COUCHDB_URL to a CouchDB server to use instead"
                )
            log.unlink()
            (staging / STAMP).write_text(f"pouchdb-server {version}\n")
            if target.exists():  # a broken earlier install (no stamp)
                shutil.rmtree(target)
            staging.rename(target)
        except subprocess.TimeoutExpired:
            raise ServerInstallError(
                f"cannot install pouchdb-server: npm ci took over {NPM_TIMEOUT:.0f} s"
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        say(f"corduroy: pouchdb-server {version} installed in {time.monotonic() - started:.0f} s")
    return target / BINARY
