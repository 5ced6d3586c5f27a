"""Where corduroy meets users of the original corduroy: callbacks before the loop
runs, what a failed callback receives, forgotten awaits, Couch as a mapping,
copy() sources, and no hidden I/O in bool(); against the live server."""

from __future__ import annotations

import asyncio
import datetime
import decimal
import subprocess
import sys
import textwrap
import uuid
from typing import Any

import pytest

from conventions import CONVENTIONS, call
from corduroy import Couch, Database, InvalidInput, NotFound, NotJSON, RequestReplica, Status


def run_script(source: str, url: str, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *flags, "-c", textwrap.dedent(source), url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


# -- callback data on failure (item 4) ---------------------------------------------


def test_a_failed_callback_gets_none_and_the_servers_answer_in_status_body(
    tmp_db: Database,
) -> None:
    got: list[tuple[Any, Status]] = []

    async def main() -> None:
        await tmp_db.get("missing", callback=lambda *args: got.append(args))

    asyncio.run(main())
    ((data, status),) = got
    assert data is None and status.error is NotFound and not status.ok
    assert status.body["error"] == "not_found" and status.code == 404


# -- callback calls made before the loop runs (item 11) ----------------------------


def test_calls_made_before_an_asyncio_loop_starts_run_once_it_does(tmp_db: Database) -> None:
    tmp_db.save({"_id": "a", "n": 1})
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    got: list[Any] = []
    try:
        tmp_db.get("a", callback=lambda data, status: got.append(data.n))
        replica = tmp_db.get("a", callback=lambda data, status: (got.append(2), loop.stop()))
        assert isinstance(replica, RequestReplica) and not got
        loop.call_later(30, loop.stop)
        loop.run_forever()
        assert got == [1, 2]
        first = tmp_db.get("a", callback=lambda data, status: got.append(data.n))
        second = tmp_db.get("a", callback=lambda data, status: got.append(3))

        async def both() -> None:
            await asyncio.wait_for(asyncio.gather(first, second), 30)

        loop.run_until_complete(both())
        assert sorted(got[2:]) == [1, 3]
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def test_calls_made_before_a_tornado_ioloop_starts_run_once_it_does(tmp_db: Database) -> None:
    from tornado.ioloop import IOLoop

    tmp_db.save({"_id": "a", "n": 1})
    asyncio_loop = asyncio.new_event_loop()
    asyncio.set_event_loop(asyncio_loop)
    got: list[Any] = []
    ioloop = IOLoop.current()
    try:
        tmp_db.get("a", callback=lambda data, status: got.append(data.n))
        tmp_db.get("b", callback=lambda data, status: (got.append(status.error), ioloop.stop()))
        ioloop.call_later(30, ioloop.stop)
        ioloop.start()
    finally:
        ioloop.close(all_fds=True)
        asyncio.set_event_loop(None)
    assert got == [1, NotFound]


def test_a_plain_script_call_runs_when_the_ioloop_it_made_first_starts(couchdb_url: str) -> None:
    done = run_script(
        """
        import sys
        from corduroy import Database
        from tornado.ioloop import IOLoop
        db = Database(sys.argv[1].rstrip("/") + "/nothing-here")
        def done(data, status):
            print("ran", data, status.error.__name__)
            IOLoop.current().stop()
        db.get("x", callback=done)  # before any loop exists or runs
        IOLoop.current().start()
        """,
        couchdb_url,
        "-X",
        "dev",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "ran None NotFound\n"
    assert "never ran" not in done.stderr


def test_a_callback_call_whose_loop_never_runs_is_named_at_exit(couchdb_url: str) -> None:
    done = run_script(
        """
        import sys
        from corduroy import Database
        db = Database(sys.argv[1].rstrip("/") + "/nothing-here")
        db.get("x", callback=lambda data, status: print("ran"))
        db.save({"_id": "u", "password": "hunter2"}, callback=lambda data, status: None)
        db.couch.replicate("http://bob:hunter2@elsewhere/db", "here", callback=print)
        """,
        couchdb_url,
        "-X",
        "dev",
    )
    assert done.returncode == 0, done.stderr
    assert "ran" not in done.stdout
    assert done.stderr.count("Database.get (GET /nothing-here/x)") == 1
    assert "Database.save (PUT /nothing-here/u)" in done.stderr and "hunter2" not in done.stderr
    assert "Couch.replicate (GET /)" in done.stderr
    assert "3 calls made with callback= never ran" in done.stderr
    assert "Callbacks need a running event loop" in done.stderr
    assert "destroyed but it is pending" not in done.stderr
    assert "never awaited" not in done.stderr


# -- a forgotten await (item 12) ----------------------------------------------------


def test_a_forgotten_await_names_the_public_call(couchdb_url: str) -> None:
    done = run_script(
        """
        import asyncio, gc, sys
        from corduroy import Couch
        couch = Couch(sys.argv[1])
        async def main():
            couch["nothing-here"].get("x")
            couch.all_dbs()
            gc.collect()
        asyncio.run(main())
        """,
        couchdb_url,
    )
    assert "coroutine 'Database.get' was never awaited" in done.stderr
    assert "coroutine 'Couch.all_dbs' was never awaited" in done.stderr
    assert "run_async" not in done.stderr


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_calls_still_work_in_every_convention(tmp_db: Database, convention: str) -> None:
    tmp_db.save({"_id": "a", "n": 1})
    assert call(convention, lambda **kw: tmp_db.get("a", **kw)).n == 1
    with pytest.raises(NotFound):
        call(convention, lambda **kw: tmp_db.get("nope", **kw))


# -- values JSON cannot hold faithfully (item 8) -------------------------------------


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_values_json_cannot_hold_are_refused_before_sending(
    tmp_db: Database, convention: str
) -> None:
    for value in (datetime.date(2026, 1, 2), uuid.uuid4(), decimal.Decimal("1.5"), {1}):
        doc = {"_id": "when", "at": {"day": value}}
        with pytest.raises(NotJSON, match=r"'at\.day'") as raised:
            call(convention, lambda doc=doc, **kw: tmp_db.save(doc, **kw))
        assert isinstance(raised.value, TypeError) and isinstance(raised.value, InvalidInput)
        assert "_rev" not in doc
        with pytest.raises(NotJSON):
            call(convention, lambda doc=doc, **kw: tmp_db.save([doc, {"_id": "fine"}], **kw))
    assert tmp_db.get(["when", "fine"]) == [None, None]  # nothing was sent
    with pytest.raises(NotJSON, match="key"):
        call(convention, lambda **kw: tmp_db.view("_all_docs", key=datetime.date.today(), **kw))


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_json_default_opts_in_to_a_conversion(
    couchdb_url: str, tmp_db: Database, convention: str
) -> None:
    def convert(value: Any) -> Any:
        if isinstance(value, datetime.date):
            return value.isoformat()
        raise TypeError(f"no conversion for {type(value).__name__}")

    with Couch(couchdb_url, json_default=convert) as couch:
        db = couch[tmp_db.name]
        doc = {"_id": "when", "day": datetime.date(2026, 1, 2)}
        call(convention, lambda **kw: db.save(doc, **kw))
        assert tmp_db.get("when").day == "2026-01-02"
        rows = call(convention, lambda **kw: db.all_docs(keys=["when"], **kw))
        assert [row.id for row in rows] == ["when"]
        with pytest.raises(NotJSON, match="'n'"):
            call(convention, lambda **kw: db.save({"_id": "x", "n": decimal.Decimal(1)}, **kw))


# -- Couch as a mapping, full_commit, bool() (items 10 and 13) -----------------------


def test_couch_is_a_mapping_of_databases_when_blocking(couch: Couch, tmp_db: Database) -> None:
    names = list(couch)
    assert tmp_db.name in names and tmp_db.name in couch and "no-such-db-here" not in couch
    assert len(couch) == len(names) == len(couch.all_dbs())
    assert couch[tmp_db.name] == tmp_db

    async def inside_a_loop() -> None:
        with pytest.raises(RuntimeError, match="would block the running event loop"):
            len(couch)

    asyncio.run(inside_a_loop())


def test_full_commit_is_accepted_and_ignored_with_a_warning(couchdb_url: str) -> None:
    with pytest.warns(DeprecationWarning, match=r"CouchDB 2\+ ignores X-Couch-Full-Commit"):
        couch = Couch(couchdb_url, full_commit=False)
    assert couch.up() is True
    couch.close()


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_bool_makes_no_request_up_and_exists_do(couchdb_url: str, convention: str) -> None:
    unreachable = Couch("http://127.0.0.1:9/", retry=False)
    assert bool(unreachable) and bool(unreachable["anything"])  # no request is made
    with Couch(couchdb_url) as couch:
        missing = couch["no-such-db-here"]
        assert bool(couch) and bool(missing)
        assert call(convention, lambda **kw: couch.up(**kw)) is True
        assert call(convention, lambda **kw: missing.exists(**kw)) is False
    with pytest.raises(TypeError, match="docid"):
        missing.get()  # type: ignore[call-overload]
