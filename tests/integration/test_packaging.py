"""corduroy as a pip user gets it: the built wheel in a fresh venv outside the checkout.

One test walks the whole path a new user takes: build the sdist and wheel (``twine check``
passes on both), install the wheel with the ``cli`` extra into a new venv, ``corduroy serve
--install`` (npm installs pouchdb-server into the user cache), ``corduroy serve``, the README's
first example against it, and a 3-test file with the plugin's fixtures (once more with an empty
cache: the plugin's first use installs the server itself). npm runs with
``--prefer-offline``: the packages come from the npm cache that ``make server-deps`` filled,
so the test needs no network for them.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import textwrap
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.executable)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("npm") is None, reason="npm (Node.js 20) is not installed"),
]

THREE_TESTS = textwrap.dedent(
    """
    import pytest

    from corduroy import Conflict


    def test_save_then_get(tmp_db):
        tmp_db.save({"_id": "ollie", "first": "Oliver"})
        assert tmp_db.get("ollie").first == "Oliver"


    def test_stale_write_conflicts(tmp_db):
        tmp_db.save({"_id": "angela"})
        with pytest.raises(Conflict):
            tmp_db.save({"_id": "angela"})


    def test_the_server_answers(couch, couchdb_url, couchdb_server):
        assert couchdb_server is not None and couchdb_url.startswith("http://admin:")
        assert couch.info()["version"]
    """
)


def readme_first_example() -> tuple[str, str]:
    """The README's first Python block and the text block that shows what it prints."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"^```python\n(.*?)^```\n\n```text\n(.*?)^```", text, re.M | re.S)
    assert found is not None
    return found.group(1), found.group(2)


def clean_env(tmp_path: Path, venv: Path) -> dict[str, str]:
    """The user's environment: no server configured, the new venv first on PATH, an empty
    user cache."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("COUCHDB_", "CORDUROY_", "PYTEST_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["CORDUROY_CACHE_DIR"] = str(tmp_path / "cache")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["npm_config_prefer_offline"] = "true"
    return env


def run(
    args: list[str | Path], cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout}\n{result.stderr}"
    return result


@pytest.fixture
def served(tmp_path: Path) -> Iterator[list[subprocess.Popen[str]]]:
    """Processes a test starts; SIGTERMed (and waited for) afterwards."""
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)


def test_a_fresh_venv_installs_the_wheel_and_gets_a_server(
    tmp_path: Path, served: list[subprocess.Popen[str]]
) -> None:
    dist = tmp_path / "dist"
    run([PYTHON, "-m", "build", "--no-isolation", "--outdir", dist, ROOT], cwd=ROOT, timeout=180)
    [wheel] = dist.glob("corduroy_couch-*.whl")
    [sdist] = dist.glob("corduroy_couch-*.tar.gz")
    run([PYTHON, "-m", "twine", "check", "--strict", wheel, sdist], cwd=tmp_path)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert "corduroy/testing/standin/package-lock.json" in names
    assert any(name.endswith("/licenses/LICENSE") for name in names)
    with tarfile.open(sdist) as archive:
        members = {name.partition("/")[2] for name in archive.getnames()}
    assert {"LICENSE", "PYPI.md", "tests/conftest.py", "docs/index.md", "mkdocs.yml"} <= members

    venv = tmp_path / "venv"
    home = tmp_path / "project"  # outside the checkout: nothing can be found by walking up
    home.mkdir()
    run([PYTHON, "-m", "venv", venv], cwd=home, timeout=120)
    env = clean_env(tmp_path, venv)
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", f"{wheel}[cli]", "pytest"],
        cwd=home, env=env)  # fmt: skip
    shown = run([venv / "bin" / "python", "-c", "import corduroy; print(corduroy.__file__)"],
                cwd=home, env=env)  # fmt: skip
    assert shown.stdout.startswith(str(venv))  # the wheel's module, not the checkout's

    # A run that uses none of the fixtures hears nothing from the plugin.
    (home / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    quiet = run([venv / "bin" / "pytest", "-p", "no:cacheprovider", "test_plain.py"], home, env)
    assert "corduroy" not in quiet.stdout.replace("plugins: corduroy-couch", "")

    # corduroy serve --install: npm installs pouchdb-server into the user cache, saying so.
    installed = run([venv / "bin" / "corduroy", "serve", "--install"], home, env)
    target = tmp_path / "cache" / "pouchdb-server-4.2.0"
    assert installed.stderr.splitlines()[0].startswith(
        f"corduroy: installing pouchdb-server 4.2.0 with npm into {target}"
    )
    assert "pouchdb-server 4.2.0 is installed: " in installed.stderr
    assert (target / "node_modules" / ".bin" / "pouchdb-server").is_file()

    proc = subprocess.Popen(
        [str(venv / "bin" / "corduroy"), "serve"],
        cwd=home,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    served.append(proc)
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://admin:secret@127.0.0.1:"), url

    code, shows = readme_first_example()
    (home / "first.py").write_text(code)
    example = run([venv / "bin" / "python", "first.py"], home, {**env, "COUCHDB_URL": url})
    assert example.stdout == shows

    # A 3-test file with the plugin's fixtures, on the installed server...
    (home / "test_three.py").write_text(THREE_TESTS)
    pytest_three = [venv / "bin" / "pytest", "-p", "no:cacheprovider", "test_three.py"]
    tested = run(pytest_three, home, env)
    assert "3 passed" in tested.stdout, tested.stdout
    assert "installing" not in tested.stdout
    # ...and with an empty cache, where the plugin's first use installs it.
    fresh = {**env, "CORDUROY_CACHE_DIR": str(tmp_path / "other-cache")}
    tested = run(pytest_three, home, fresh)
    assert "3 passed" in tested.stdout, tested.stdout
    assert "corduroy: installing pouchdb-server 4.2.0 with npm into" in tested.stdout
