"""The benchmark scripts still run: bench/run.py with tiny counts, and the replay server.

No timings are asserted (speed is what ``make bench`` reports); these check that the suite
produces its table with figures for corduroy and the raw baseline on both servers, and that
the replay server answers like CouchDB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.request import Request, urlopen

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def _rows(table: str, client: str) -> list[list[str]]:
    return [
        [cell.strip() for cell in line.strip("|").split("|")]
        for line in table.splitlines()
        if line.startswith(f"| {client} |")
    ]


def test_run_quick_corduroy_and_raw_on_both_servers(couchdb_url: str, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    env = {**os.environ, "COUCHDB_URL": couchdb_url}
    done = subprocess.run(
        [sys.executable, str(BENCH / "run.py"), "--tiny", "--only", "corduroy,raw,sockfloor",
         "--no-extras", "--json", str(out)],
        capture_output=True, text=True, timeout=110, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    table = done.stdout
    assert "Failures" not in table, table
    for client in ("raw", "corduroy"):
        rows = [cells for cells in _rows(table, client) if len(cells) > 3]  # the main tables
        assert len(rows) == 2, table  # one row per server
        for cells in rows:
            # get, create, batch save, _all_docs read, streamed read: a CPU figure each
            figures = [cells[1], cells[3], cells[5], cells[7], cells[10]]
            assert all(f != "—" for f in figures), cells
    # the socket floor's get, and corduroy's and raw's get above it, on both servers
    assert table.count("Blocking get, above the socket floor") == 2, table
    for client in ("sockfloor", "raw", "corduroy"):
        assert all(cells[1] != "—" for cells in _rows(table, client)), table
    data = json.loads(out.read_text())
    assert set(data["servers"]) == {"embedded", "replay"}
    for rounds in data["servers"].values():
        got = rounds[0]["corduroy"]["results"]
        assert {"get", "create", "batch", "read", "stream"} <= set(got)
        assert got["get"]["count"] == 20


@pytest.fixture
def replay_url() -> object:
    proc = subprocess.Popen(
        [sys.executable, str(BENCH / "replay_server.py"), "--workers", "1", "--rows", "3",
         "--stream-rows", "5"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("READY "), line
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        proc.terminate()
        proc.wait(10)


def _call(url: str, method: str = "GET", body: object = None) -> tuple[int, object]:
    data = None if body is None else json.dumps(body).encode()
    request = Request(url, data, {"Content-Type": "application/json"}, method=method)
    with urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_replay_server_answers_like_couchdb(replay_url: str) -> None:
    status, doc = _call(f"{replay_url}/any/doc00002")
    assert status == 200
    assert isinstance(doc, dict) and doc["_id"] == "doc00002" and doc["n"] == 2
    status, saved = _call(f"{replay_url}/any/new1", "PUT", {"a": 1})
    assert status == 201 and isinstance(saved, dict) and saved["id"] == "new1"
    status, results = _call(f"{replay_url}/any/_bulk_docs", "POST",
                            {"docs": [{"_id": "x"}, {"_id": "y"}]})  # fmt: skip
    assert status == 201 and [r["id"] for r in results] == ["x", "y"]  # type: ignore[union-attr]
    _, page = _call(f"{replay_url}/any/_all_docs?include_docs=true")
    assert isinstance(page, dict) and [row["doc"]["n"] for row in page["rows"]] == [0, 1, 2]
    _, page = _call(f"{replay_url}/any/_all_docs?limit=2")
    assert isinstance(page, dict) and [row["id"] for row in page["rows"]] == [
        "doc00000",
        "doc00001",
    ]
    _, big = _call(f"{replay_url}/bench-stream-x/_all_docs?include_docs=true")
    assert isinstance(big, dict) and len(big["rows"]) == 5
