"""``corduroy`` on a real terminal: tmux runs it, capture-pane reads the screen.

On a terminal the command draws a progress bar (``load``) and tables (``dbs``) with rich
instead of printing JSON lines.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from corduroy import Couch, Database

CORDUROY = Path(sys.executable).with_name("corduroy")
TMUX = shutil.which("tmux")

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed (apt-get install tmux)")


class Terminal:
    """A detached tmux session on its own server socket, 120x30."""

    def __init__(self, env: dict[str, str]) -> None:
        assert TMUX is not None
        self.base = [TMUX, "-L", f"corduroy-test-{uuid.uuid4().hex[:8]}"]
        self.runs = 0
        command = [*self.base, "new-session", "-d", "-s", "t", "-x", "120", "-y", "30"]
        for key, value in env.items():
            command += ["-e", f"{key}={value}"]
        subprocess.run([*command, "sh"], check=True, timeout=10)

    def type(self, line: str) -> None:
        subprocess.run([*self.base, "send-keys", "-t", "t", line, "Enter"], check=True, timeout=10)

    def screen(self) -> str:
        return subprocess.run(
            [*self.base, "capture-pane", "-p", "-t", "t"],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout

    def run(self, command: str, timeout: float = 60) -> tuple[int, str]:
        """Type ``command``, wait for it to end; its exit code and the screen."""
        self.runs += 1  # a mark of this run: a busy machine may not have cleared the last one's
        self.type("clear")
        self.type(f"{command}; echo EXIT{self.runs}=$?")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            found = re.search(rf"^EXIT{self.runs}=(\d+)$", screen, re.MULTILINE)
            if found:
                return int(found.group(1)), screen
            time.sleep(0.2)
        raise AssertionError(f"{command!r} did not finish; the screen:\n{self.screen()}")

    def close(self) -> None:
        subprocess.run([*self.base, "kill-server"], timeout=10, check=False)


@pytest.fixture
def terminal(couchdb_url: str) -> Iterator[Terminal]:
    term = Terminal({"COUCHDB_URL": couchdb_url, "TERM": "xterm-256color", "LANG": "C.UTF-8"})
    try:
        yield term
    finally:
        term.close()


@pytest.fixture
def target(couch: Couch) -> Iterator[Database]:
    name = f"corduroy-tty-{uuid.uuid4().hex[:10]}"
    yield couch[name]
    if name in couch.all_dbs():
        couch.delete(name)


def test_load_draws_a_progress_bar(terminal: Terminal, target: Database, tmp_path: Path) -> None:
    data = tmp_path / "people.jsonl"
    with data.open("w") as f:
        for n in range(3000):
            f.write(json.dumps({"_id": f"p{n:04d}", "_rev": f"1-{n:032x}", "n": n}) + "\n")
    terminal.type(f"cd {tmp_path}")
    code, screen = terminal.run(f"{CORDUROY} load {target.name} {data.name}")
    assert code == 0, screen
    [bar] = [
        line for line in screen.splitlines() if f"load {target.name}" in line and "EXIT" not in line
    ]
    assert "━━━━" in bar  # the bar itself
    assert "3000/3000 docs" in bar
    assert re.search(r" \d+/s +\d:\d\d:\d\d +\d:\d\d:\d\d$", bar), bar  # rate, elapsed, remaining
    above = screen.splitlines()[screen.splitlines().index(bar) - 1]
    assert above.split() == ["done/total", "rate", "elapsed", "remaining"]  # the figures' labels
    assert f"loaded 3000 documents into {target.name}" in screen
    assert '{"ok"' not in screen  # no JSON on a terminal
    assert len(target) == 3000


def test_tables_on_a_terminal_json_when_asked(terminal: Terminal, tmp_db: Database) -> None:
    tmp_db.save([{"_id": "a", "n": 1}, {"_id": "b", "n": 2}])
    code, screen = terminal.run(f"{CORDUROY} view {tmp_db.name} _all_docs")
    assert code == 0, screen
    header = next(line for line in screen.splitlines() if "key" in line and "value" in line)
    assert header.startswith("┃") and "id" in header
    assert "2 rows" in screen
    code, screen = terminal.run(f"{CORDUROY} --json get {tmp_db.name} a")
    assert code == 0, screen
    assert any(line.startswith('{"n":1,"_id":"a"') for line in screen.splitlines()), screen


def test_a_null_key_and_value_show_as_null(terminal: Terminal, tmp_db: Database) -> None:
    tmp_db.save(
        [
            {"_id": "_design/d", "views": {"k": {"map": "function(doc){emit(doc.k, null)}"}}},
            {"_id": "a", "k": None},
        ]
    )
    code, screen = terminal.run(f"{CORDUROY} view {tmp_db.name} d/k")
    assert code == 0, screen
    [row] = [line for line in screen.splitlines() if line.startswith("│ a ")]
    assert [cell.strip() for cell in row.strip("│").split("│")] == ["a", "null", "null"]
