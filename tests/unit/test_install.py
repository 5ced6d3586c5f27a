"""Installing pouchdb-server into the user cache (``corduroy serve --install``), with a stand-in
``npm`` on PATH: where it goes, that it happens once, and the one-line errors when it cannot.
(tests/integration/test_packaging.py runs the real npm from a fresh venv.)"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from corduroy.testing import install, server
from corduroy.testing.install import (
    ServerInstallError,
    cache_root,
    install_dir,
    install_pouchdb_server,
    installed_binary,
    pinned_version,
)
from corduroy.testing.server import ServerNotInstalledError, find_pouchdb_server

ROOT = Path(__file__).resolve().parents[2]

# A fake npm: `npm ci` makes node_modules/.bin/pouchdb-server and counts its runs; with
# FAKE_NPM_FAIL set it prints npm-like errors and exits 1.
FAKE_NPM = """#!/bin/sh
echo run >> "$FAKE_NPM_RUNS"
if [ -n "$FAKE_NPM_FAIL" ]; then
  echo "npm ERR! code E404" >&2
  echo "npm ERR! 404 Not Found - GET pouchdb-server" >&2
  exit 1
fi
test -f package-lock.json || exit 3
mkdir -p node_modules/.bin
printf '#!/bin/sh\\n' > node_modules/.bin/pouchdb-server
"""


@pytest.fixture
def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH holding only a fake npm and node; the cache in tmp_path/cache. Returns the file
    counting npm runs."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in (("npm", FAKE_NPM), ("node", "#!/bin/sh\n")):
        path = bin_dir / name
        path.write_text(text)
        path.chmod(path.stat().st_mode | stat.S_IEXEC)
    runs = tmp_path / "npm-runs"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    monkeypatch.setenv("FAKE_NPM_RUNS", str(runs))
    monkeypatch.setenv("CORDUROY_CACHE_DIR", str(tmp_path / "cache"))
    return runs


def test_the_package_data_is_the_checkouts_pin() -> None:
    for name in ("package.json", "package-lock.json"):
        packaged = (install.STANDIN_DATA / name).read_bytes()
        assert packaged == (ROOT / "tools" / "couch-standin" / name).read_bytes(), name
    assert pinned_version() == "4.2.0"
    lock = json.loads((install.STANDIN_DATA / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/pouchdb-server"]["version"] == pinned_version()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"HOME": "/home/u"}, "/home/u/.cache/corduroy"),
        ({"HOME": "/home/u", "XDG_CACHE_HOME": "/var/cache/u"}, "/var/cache/u/corduroy"),
        ({"HOME": "/home/u", "XDG_CACHE_HOME": "relative"}, "/home/u/.cache/corduroy"),
        ({"HOME": "/home/u", "CORDUROY_CACHE_DIR": "/opt/c", "XDG_CACHE_HOME": "/x"}, "/opt/c"),
    ],
)
def test_cache_root(env: dict[str, str], expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", env["HOME"])
    assert cache_root(env) == Path(expected)
    assert install_dir(env) == Path(expected) / "pouchdb-server-4.2.0"


def test_installs_once_with_progress_lines(fake_npm: Path, tmp_path: Path) -> None:
    said: list[str] = []
    binary = install_pouchdb_server(progress=said.append)
    target = tmp_path / "cache" / "pouchdb-server-4.2.0"
    assert binary == target / "node_modules" / ".bin" / "pouchdb-server"
    assert installed_binary() == binary
    assert said[0].startswith(f"corduroy: installing pouchdb-server 4.2.0 with npm into {target}")
    assert said[1].startswith("corduroy: pouchdb-server 4.2.0 installed in ")
    assert sorted(
        p.name for p in (tmp_path / "cache").iterdir() if not p.name.endswith(".lock")
    ) == ["pouchdb-server-4.2.0"]  # no staging dir left
    assert install_pouchdb_server(progress=said.append) == binary
    assert fake_npm.read_text().count("run") == 1 and len(said) == 2  # the second call: nothing


def test_the_launcher_finds_the_cached_install(
    fake_npm: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CORDUROY_POUCHDB_SERVER", raising=False)
    monkeypatch.setattr(server, "STANDIN_DIR", Path("no-such-checkout-dir"))
    with pytest.raises(ServerNotInstalledError) as raised:
        find_pouchdb_server()
    message = str(raised.value)
    assert "\n" not in message
    assert "corduroy serve --install" in message and "COUCHDB_URL" in message
    binary = install_pouchdb_server(progress=None)
    assert find_pouchdb_server() == binary


def test_npm_failure_is_one_line_and_leaves_nothing(
    fake_npm: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FAKE_NPM_FAIL", "1")
    with pytest.raises(ServerInstallError) as raised:
        install_pouchdb_server(progress=None)
    message = str(raised.value)
    assert "\n" not in message
    assert "npm ci failed (exit 1): npm ERR! 404 Not Found - GET pouchdb-server" in message
    assert "COUCHDB_URL" in message
    log = tmp_path / "cache" / "npm-error.log"
    assert str(log) in message and "E404" in log.read_text()
    assert installed_binary() is None
    assert not (tmp_path / "cache" / "pouchdb-server-4.2.0").exists()
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.is_dir()] == []


def test_without_npm_it_says_what_to_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # no npm, no node
    monkeypatch.setenv("CORDUROY_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ServerInstallError, match=r"Node\.js 20.*COUCHDB_URL") as raised:
        install_pouchdb_server(progress=None)
    assert "\n" not in str(raised.value)
    assert not os.path.exists(tmp_path / "cache" / "pouchdb-server-4.2.0")
