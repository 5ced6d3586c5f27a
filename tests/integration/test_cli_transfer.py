"""``corduroy dump``/``load`` (10,000 documents, revisions kept, resumable) and
``corduroy replicate`` (one-shot, and watched through ``_replicator``), run as the real
console script against the live server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from corduroy import Couch, Database

CORDUROY = Path(sys.executable).with_name("corduroy")


def run(url: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUCHDB_")}
    env["COUCHDB_URL"] = url
    return subprocess.run(
        [str(CORDUROY), *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def lines(result: subprocess.CompletedProcess[str]) -> list[Any]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def everything(db: Database) -> dict[str, dict[str, Any]]:
    """Every live document of ``db`` by id, revisions included."""
    return {row.id: dict(row.doc) for row in db.iterview("_all_docs", include_docs=True)}


@pytest.fixture
def other_db(couch: Couch) -> Iterator[Database]:
    """A database name not yet created (the command creates it); deleted afterwards."""
    name = f"corduroy-cli-{uuid.uuid4().hex[:10]}"
    yield couch[name]
    if name in couch.all_dbs():
        couch.delete(name)


def fill(db: Database, count: int) -> None:
    for start in range(0, count, 1000):
        db.save(
            [
                {"_id": f"doc-{n:05d}", "n": n, "tags": ["t", n % 7], "name": f"n\u00e9{n}"}
                for n in range(start, min(count, start + 1000))
            ]
        )


def test_dump_then_load_10000_documents(
    couchdb_url: str, tmp_db: Database, other_db: Database, tmp_path: Path
) -> None:
    fill(tmp_db, 10_000)
    tmp_db.save({"_id": "doc-00007", "_rev": tmp_db.rev("doc-00007"), "edited": True})
    tmp_db.save({"_id": "_design/app", "views": {"n": {"map": "function(d){emit(d.n)}"}}})
    tmp_db.save(
        {
            "_id": "with-attachment",
            "_attachments": {"a.txt": {"content_type": "text/plain", "data": "aGVsbG8="}},
        }
    )
    dump = tmp_path / "dump.jsonl"
    assert run(couchdb_url, "dump", tmp_db.name, str(dump)).returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["dump.jsonl"]  # no temp file left
    dumped = [json.loads(line) for line in dump.read_text().splitlines()]
    assert len(dumped) == 10_002
    assert all("_rev" in doc for doc in dumped)

    loaded = lines(run(couchdb_url, "load", other_db.name, str(dump)))
    assert loaded == [{"ok": True, "db": other_db.name, "loaded": 10_002, "present": 0}]
    original = everything(tmp_db)
    copy = everything(other_db)
    assert copy == original  # same ids, same revisions, same bodies
    assert copy["doc-00007"]["_rev"].startswith("2-")
    assert other_db.get_attachment("with-attachment", "a.txt") == b"hello"

    again = lines(run(couchdb_url, "load", other_db.name, str(dump)))
    assert again == [{"ok": True, "db": other_db.name, "loaded": 0, "present": 10_002}]
    assert everything(other_db) == original


def test_load_resumes_after_an_interruption(
    couchdb_url: str, tmp_db: Database, other_db: Database, tmp_path: Path
) -> None:
    fill(tmp_db, 1500)
    dump = tmp_path / "dump.jsonl"
    assert run(couchdb_url, "dump", tmp_db.name, str(dump)).returncode == 0
    data = dump.read_bytes().splitlines(keepends=True)

    env = {**os.environ, "COUCHDB_URL": couchdb_url}
    proc = subprocess.Popen(
        [str(CORDUROY), "load", other_db.name, "-", "--batch", "250"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    assert proc.stdin is not None
    proc.stdin.write(b"".join(data[:500]))  # two batches, then the input stalls
    proc.stdin.flush()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if other_db.exists() and len(other_db) == 500:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert stdout == b""
    assert stderr.decode().splitlines() == [
        "error: interrupted after 500 documents; run the same command again to resume"
    ]
    assert len(other_db) == 500

    resumed = lines(run(couchdb_url, "load", other_db.name, str(dump), "--batch", "250"))
    assert resumed == [{"ok": True, "db": other_db.name, "loaded": 1000, "present": 500}]
    assert everything(other_db) == everything(tmp_db)


def test_load_lines_without_revisions_and_bad_input(
    couchdb_url: str, other_db: Database, tmp_path: Path
) -> None:
    plain = tmp_path / "plain.jsonl"
    plain.write_text('{"_id": "a", "n": 1}\n\n{"n": 2}\n')
    first = lines(run(couchdb_url, "load", other_db.name, str(plain)))
    assert first == [{"ok": True, "db": other_db.name, "loaded": 2, "present": 0}]
    assert other_db.get("a").n == 1 and len(other_db) == 2

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"_id": "b"}\nnot json\n')
    result = run(couchdb_url, "load", other_db.name, str(bad))
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: {bad} line 2 is not JSON")
    assert result.stderr.count("\n") == 1

    missing = run(couchdb_url, "load", "corduroy-cli-absent", str(plain), "--no-create")
    assert missing.returncode == 1
    assert missing.stderr == (
        "error: database 'corduroy-cli-absent' does not exist "
        "(leave out --no-create to create it)\n"
    )


def test_dump_to_stdout_without_attachments(couchdb_url: str, tmp_db: Database) -> None:
    tmp_db.save(
        [
            {"_id": "plain", "n": 1},
            {"_id": "att", "_attachments": {"x": {"content_type": "text/plain", "data": "eA=="}}},
        ]
    )
    docs = lines(run(couchdb_url, "dump", tmp_db.name, "--no-attachments"))
    assert [d["_id"] for d in docs] == ["att", "plain"]
    assert all("_attachments" not in d for d in docs)
    assert run(couchdb_url, "dump", "corduroy-cli-absent").returncode == 1


def test_replicate_one_shot(couchdb_url: str, tmp_db: Database, other_db: Database) -> None:
    fill(tmp_db, 50)
    [answer] = lines(run(couchdb_url, "replicate", tmp_db.name, other_db.name, "--create-target"))
    assert answer["ok"] is True
    assert everything(other_db) == everything(tmp_db)


def test_replicate_watch(
    couchdb_url: str, couch: Couch, tmp_db: Database, other_db: Database
) -> None:
    fill(tmp_db, 200)
    result = run(couchdb_url, "replicate", tmp_db.name, other_db.name, "--create-target", "-w")
    states = lines(result)
    assert states[-1]["state"] == "completed"
    assert states[-1]["docs_written"] == 200
    assert all(s["id"] == states[0]["id"] for s in states)
    assert states[0]["id"].startswith("corduroy-cli-")
    assert everything(other_db) == everything(tmp_db)
    assert couch.replicator.rev(states[0]["id"]) is None  # a generated one-shot doc is removed

    named = lines(
        run(couchdb_url, "replicate", tmp_db.name, other_db.name, "--watch", "--id", "kept-repl")
    )
    assert named[-1]["state"] == "completed"
    assert couch.replicator.rev("kept-repl") is not None  # a named one stays
    couch.replicator.delete("kept-repl", couch.replicator.rev("kept-repl"))
