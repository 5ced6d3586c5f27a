"""The real ``corduroy`` console script against the live server: every command, exit codes
0/1/2, one-line errors without a traceback, JSON lines when piped, credentials never shown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from click.testing import CliRunner

from corduroy import Couch, Database
from corduroy.cli.app import command_group

CORDUROY = Path(sys.executable).with_name("corduroy")
COMMANDS = [
    ["info"], ["dbs"], ["create"], ["delete"], ["get"], ["put"], ["delete-doc"], ["view"],
    ["find"], ["changes"], ["replicate"], ["dump"], ["load"], ["ddoc"], ["ddoc", "push"],
    ["serve"],
]  # fmt: skip


def run(
    url: str | None, *args: str, input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """``corduroy ARGS`` with ``COUCHDB_URL=url``, stdin/stdout/stderr piped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUCHDB_")}
    if url is not None:
        env["COUCHDB_URL"] = url
    return subprocess.run(
        [str(CORDUROY), *args],
        input=input,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


def lines(result: subprocess.CompletedProcess[str]) -> list[Any]:
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def db_name(couch: Couch) -> Iterator[str]:
    """A unique database name; the database is deleted afterwards if it was made."""
    name = f"corduroy-cli-{uuid.uuid4().hex[:10]}"
    yield name
    if name in couch.all_dbs():
        couch.delete(name)


def test_console_script_is_installed() -> None:
    assert CORDUROY.is_file(), "run `make venv`: the corduroy console script is missing"


def test_help_for_the_group_and_every_command() -> None:
    result = run(None, "--help")
    assert result.returncode == 0
    for command in COMMANDS:
        if len(command) == 1:
            assert f"  {command[0]} " in result.stdout
    runner = CliRunner()
    for command in COMMANDS:
        outcome = runner.invoke(command_group(), [*command, "--help"], prog_name="corduroy")
        assert outcome.exit_code == 0, (command, outcome.output)
        assert f"Usage: corduroy {' '.join(command)}" in outcome.output


@pytest.mark.parametrize(
    "args",
    [
        ["no-such-command"],
        ["get", "onlydb"],
        ["view", "db", "d/v", "--limit", "many"],
        ["find", "db", "{not json"],
        ["find", "db", "[1, 2]"],
        ["changes", "db", "--unknown-option"],
    ],
)
def test_usage_errors_exit_2(couchdb_url: str, args: list[str]) -> None:
    result = run(couchdb_url, *args)
    assert result.returncode == 2, result.stderr
    assert "Usage: corduroy" in result.stderr
    assert "Traceback" not in result.stderr


def test_server_info_and_databases(couchdb_url: str, db_name: str, couch: Couch) -> None:
    info = lines(run(couchdb_url, "info"))
    assert info == [dict(couch.info())]

    assert lines(run(couchdb_url, "create", db_name)) == [{"ok": True, "db": db_name}]
    assert db_name in lines(run(couchdb_url, "dbs"))
    assert lines(run(couchdb_url, "info", db_name))[0]["doc_count"] == 0

    again = run(couchdb_url, "create", db_name)
    assert_one_line_error(again, "412", db_name)
    assert "secret" not in again.stderr

    assert lines(run(couchdb_url, "delete", db_name)) == [{"ok": True, "db": db_name}]
    assert db_name not in couch.all_dbs()
    # (deleting a missing database is a 404 on CouchDB, a 200 on pouchdb-server)
    assert_one_line_error(run(couchdb_url, "info", db_name), "404", db_name)


def test_global_options_after_the_command(couchdb_url: str, tmp_db: Database) -> None:
    tmp_db.save({"_id": "a"})
    name = tmp_db.name
    rows = lines(run(None, "view", name, "_all_docs", "--json", "--url", couchdb_url, "-v"))
    assert [r["id"] for r in rows] == ["a"]
    assert lines(run(None, "get", name, "a", f"--url={couchdb_url}"))[0]["_id"] == "a"
    parts = urlsplit(couchdb_url)
    bare = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], "/", "", ""))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUCHDB_")}
    prompted = subprocess.run(
        [str(CORDUROY), "dbs", "--url", bare, "-u", "admin", "-p"],
        input="secret\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert name in lines(prompted)
    # after `--` nothing is taken for an option of the group
    assert run(couchdb_url, "get", name, "--", "--json").returncode == 1


def test_documents(couchdb_url: str, tmp_db: Database, tmp_path: Path) -> None:
    name = tmp_db.name
    [saved] = lines(run(couchdb_url, "put", name, input='{"_id": "ollie", "first": "Oliver"}'))
    assert saved["ok"] and saved["id"] == "ollie" and saved["rev"].startswith("1-")
    assert tmp_db.get("ollie").first == "Oliver"

    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps([{"_id": "angela", "n": 1}, {"n": 2}]))
    written = lines(run(couchdb_url, "put", name, str(batch)))
    assert [w["ok"] for w in written] == [True, True]
    assert written[0]["id"] == "angela" and written[1]["id"]  # the second got a server id
    assert tmp_db.get(written[1]["id"]).n == 2

    [doc] = lines(run(couchdb_url, "get", name, "ollie"))
    assert doc == dict(tmp_db.get("ollie"))

    stale = run(couchdb_url, "put", name, input='{"_id": "ollie", "first": "Ollie"}')
    assert_one_line_error(stale, "409")

    mixed = run(couchdb_url, "put", name, input='{"_id": "ollie"}\n{"_id": "julius"}\n')
    assert mixed.returncode == 1
    results = [json.loads(line) for line in mixed.stdout.splitlines()]
    assert results[0] == {"id": "ollie", "error": "conflict"}
    assert results[1]["ok"] and results[1]["id"] == "julius"
    assert mixed.stderr.startswith("error: 1 of 2 documents refused")

    [deleted] = lines(run(couchdb_url, "delete-doc", name, "ollie"))
    assert deleted["ok"] and deleted["rev"].startswith("2-")
    assert_one_line_error(run(couchdb_url, "get", name, "ollie"), "404", "ollie")
    assert_one_line_error(run(couchdb_url, "delete-doc", name, "ollie"), "no document 'ollie'")
    assert_one_line_error(run(couchdb_url, "put", name, str(tmp_path / "nope.json")), "nope.json")
    assert_one_line_error(run(couchdb_url, "put", name, input="[1, 2]"), "JSON object")


@pytest.fixture
def employees(tmp_db: Database, tmp_path: Path) -> Database:
    """tmp_db with a design document pushed from a folder by `corduroy ddoc push`."""
    folder = tmp_path / "employees"
    (folder / "views" / "byname").mkdir(parents=True)
    (folder / "views" / "byname" / "map.js").write_text(
        "function (doc) { if (doc.last) emit(doc.last.toLowerCase(), doc.first); }"
    )
    (folder / "views" / "bydate").mkdir()
    (folder / "views" / "bydate" / "map.js").write_text(
        "function (doc) { if (doc.date) emit(doc.date.split('-'), 1); }"
    )
    (folder / "views" / "bydate" / "reduce.js").write_text("_count")
    tmp_db.save(
        [
            {"_id": "e1", "first": "Hugh", "last": "Abbott", "date": "2007-11-28"},
            {"_id": "e2", "first": "Terri", "last": "Coverley", "date": "2007-11-29"},
            {"_id": "e3", "first": "Robyn", "last": "Murray", "date": "2007-12-01"},
            {"_id": "e4", "first": "Glenn", "last": "Cullen", "date": "2007-12-01"},
        ]
    )
    return tmp_db


def test_ddoc_push_writes_only_changes(
    couchdb_url: str, employees: Database, tmp_path: Path
) -> None:
    folder = str(tmp_path / "employees")
    first = lines(run(couchdb_url, "ddoc", "push", employees.name, folder))
    assert first == [{"ok": True, "id": "_design/employees", "written": True}]
    assert "byname" in employees.get("_design/employees").views
    again = lines(run(couchdb_url, "ddoc", "push", employees.name, folder))
    assert again == [{"ok": True, "id": "_design/employees", "written": False}]
    missing = run(couchdb_url, "ddoc", "push", employees.name, str(tmp_path / "none"))
    assert missing.returncode == 2


def test_view(couchdb_url: str, employees: Database, tmp_path: Path) -> None:
    name = employees.name
    assert run(couchdb_url, "ddoc", "push", name, str(tmp_path / "employees")).returncode == 0

    rows = lines(run(couchdb_url, "view", name, "employees/byname"))
    assert [r["key"] for r in rows] == ["abbott", "coverley", "cullen", "murray"]
    assert rows[0] == {"id": "e1", "key": "abbott", "value": "Hugh"}

    [row] = lines(run(couchdb_url, "view", name, "employees/byname", "--key", "abbott"))
    assert row["id"] == "e1"
    ranged = lines(
        run(
            couchdb_url,
            "view",
            name,
            "employees/byname",
            "--startkey",
            "c",
            "--endkey",
            "d",
            "--exclusive-end",
        )
    )
    assert [r["key"] for r in ranged] == ["coverley", "cullen"]
    limited = lines(
        run(
            couchdb_url,
            "view",
            name,
            "employees/byname",
            "--limit",
            "1",
            "--descending",
            "--include-docs",
        )
    )
    assert [r["key"] for r in limited] == ["murray"]
    assert limited[0]["doc"]["first"] == "Robyn"

    [total] = lines(run(couchdb_url, "view", name, "employees/bydate"))
    assert total["value"] == 4
    raw = lines(run(couchdb_url, "view", name, "employees/bydate", "--no-reduce"))
    assert len(raw) == 4 and all(r["value"] == 1 for r in raw)
    months = lines(run(couchdb_url, "view", name, "employees/bydate", "--group-level", "2"))
    assert [(r["key"], r["value"]) for r in months] == [(["2007", "11"], 2), (["2007", "12"], 2)]
    keyed = lines(
        run(couchdb_url, "view", name, "employees/bydate", "--group", "--key", '["2007","12","01"]')
    )
    assert [(r["key"], r["value"]) for r in keyed] == [(["2007", "12", "01"], 2)]

    everything = lines(run(couchdb_url, "view", name, "_all_docs"))
    assert [r["id"] for r in everything] == ["_design/employees", "e1", "e2", "e3", "e4"]
    assert_one_line_error(run(couchdb_url, "view", name, "employees/nope"), "404")


def test_find(couchdb_url: str, employees: Database) -> None:
    selector = '{"date": {"$gt": "2007-11-30"}}'
    found = lines(run(couchdb_url, "find", employees.name, selector, "--fields", "_id,last"))
    assert sorted(d["_id"] for d in found) == ["e3", "e4"]
    assert all(set(d) == {"_id", "last"} for d in found)
    limited = lines(
        run(
            couchdb_url,
            "find",
            employees.name,
            '{"last": {"$gt": null}}',
            "--limit",
            "3",
            "--batch",
            "2",
        )
    )
    assert len(limited) == 3


def test_changes(couchdb_url: str, tmp_db: Database) -> None:
    tmp_db.save([{"_id": "a"}, {"_id": "b"}, {"_id": "c"}])
    every = lines(run(couchdb_url, "changes", tmp_db.name))
    assert sorted(c["id"] for c in every) == ["a", "b", "c"]  # a sharded feed has no write order
    after_first = lines(
        run(
            couchdb_url,
            "changes",
            tmp_db.name,
            "--since",
            json.dumps(every[0]["seq"]),
            "--limit",
            "1",
        )
    )
    others = {"a", "b", "c"} - {every[0]["id"]}
    assert len(after_first) == 1 and after_first[0]["id"] in others
    with_docs = lines(run(couchdb_url, "changes", tmp_db.name, "--include-docs"))
    assert sorted(c["doc"]["_id"] for c in with_docs) == ["a", "b", "c"]
    assert all(c["doc"]["_id"] == c["id"] for c in with_docs)
    assert_one_line_error(run(couchdb_url, "changes", "corduroy-no-such-db"), "404")


def test_changes_follow_prints_changes_as_they_happen(couchdb_url: str, tmp_db: Database) -> None:
    tmp_db.save({"_id": "before"})
    env = {**os.environ, "COUCHDB_URL": couchdb_url}
    proc = subprocess.Popen(
        [str(CORDUROY), "changes", tmp_db.name, "--follow", "--since", "now"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        got: list[dict[str, Any]] = []
        reader = threading.Thread(target=lambda: got.append(json.loads(proc.stdout.readline())))
        reader.start()
        deadline = time.monotonic() + 30
        while reader.is_alive() and time.monotonic() < deadline:
            tmp_db.save({"_id": f"live-{uuid.uuid4().hex[:6]}"})  # until the feed is connected
            reader.join(0.5)
        assert got and got[0]["id"].startswith("live-")
    finally:
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=15)
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_connection_refused_is_one_line(tmp_path: Path) -> None:
    result = run("http://admin:hush-hush@127.0.0.1:9/", "dbs")
    assert_one_line_error(result, "127.0.0.1:9")
    assert "hush-hush" not in result.stderr


def test_wrong_password_is_never_shown(
    couchdb_url: str, throwaway_user: Callable[[], tuple[str, str]]
) -> None:
    parts = urlsplit(couchdb_url)
    name, _ = throwaway_user()  # never the admin's name: failed logins lock an account
    wrong = urlunsplit(parts._replace(netloc=f"{name}:not-the-pw-42@{parts.hostname}:{parts.port}"))
    result = run(wrong, "dbs")
    assert_one_line_error(result, "401")
    assert "not-the-pw-42" not in result.stderr


def test_user_and_prompted_password(couchdb_url: str) -> None:
    parts = urlsplit(couchdb_url)
    bare = urlunsplit(parts._replace(netloc=f"{parts.hostname}:{parts.port}"))
    password = parts.password or ""
    result = run(bare, "--user", "admin", "-p", "dbs", input=password + "\n")
    assert "_users" in lines(result)
    assert "Password for admin" in result.stderr
    assert password not in result.stderr + result.stdout
    refused = run(bare, "-u", "admin", "--password-prompt", "dbs", input="nope-nope\n")
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1].startswith("error: 401")
    assert "Traceback" not in refused.stderr and "nope-nope" not in refused.stderr


def test_serve_prints_a_url_that_answers() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUCHDB_")}
    proc = subprocess.Popen(
        [str(CORDUROY), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://admin:secret@127.0.0.1:")
        assert run(url, "info").returncode == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=15)
    assert proc.returncode == 0


def test_serve_with_a_couchdb_url_checks_it_and_starts_nothing(couchdb_url: str) -> None:
    result = run(None, "serve", "--couchdb-url", couchdb_url)
    assert result.returncode == 0, result.stderr
    assert result.stdout == couchdb_url + "\n"
    assert "not starting pouchdb-server" in result.stderr and "secret" not in result.stderr
    refused = run(None, "serve", "--couchdb-url", "http://admin:pw@127.0.0.1:9/")
    assert_one_line_error(refused, "http://127.0.0.1:9/ does not answer")
    assert "pw" not in refused.stderr


def test_serve_without_pouchdb_server_says_what_to_do(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COUCHDB_")}
    env["CORDUROY_POUCHDB_SERVER"] = str(tmp_path / "nowhere")
    result = subprocess.run(
        [str(CORDUROY), "serve"], capture_output=True, text=True, env=env, timeout=60
    )
    assert_one_line_error(result, "pouchdb-server is not installed", "CORDUROY_POUCHDB_SERVER")


def test_serve_install_when_installed_says_where(tmp_path: Path) -> None:
    result = run(None, "serve", "--install")
    assert result.returncode == 0, result.stderr
    assert "pouchdb-server 4.2.0 is installed: " in result.stderr
    assert "corduroy serve" in result.stderr
