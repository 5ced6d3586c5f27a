"""No password in any repr, str, exception, request replica or DEBUG log line.

A server admin with a password made for this test (``sentinel``) is used with
credentials in the url, in ``auth=``, in a cookie session and in replication
endpoints; a full run of calls in every convention (successes, HTTP errors,
transport errors, retries) is recorded and searched for the password in each
of its spellings (plain, percent-encoded, inside a Basic header).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import pytest

from conventions import CONVENTIONS
from corduroy import Couch, Database, RequestReplica, Status
from corduroy.errors import CouchError, NotFound, Unauthorized
from corduroy.http import RetryPolicy
from faultproxy import FaultProxy

pytestmark = pytest.mark.timeout(120)

USER = "sentinel"
PASSWORD = f"Pw-{uuid.uuid4().hex[:12]}:/@%x"  # characters a url must escape


def spellings(password: str) -> list[str]:
    basic = base64.b64encode(f"{USER}:{password}".encode()).decode()
    return [password, quote(password, safe=""), quote(password), basic, password[:-4]]


class Recorder:
    """Everything a user could print: reprs, strs, exceptions, replicas, statuses."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def see(self, *things: Any) -> None:
        for thing in things:
            self.texts += [repr(thing), str(thing)]
            if isinstance(thing, BaseException):
                self.texts += traceback.format_exception(thing)
                self.texts += [repr(arg) for arg in thing.args]
                self.texts += [repr(vars(thing))] if hasattr(thing, "__dict__") else []
            if isinstance(thing, RequestReplica):
                self.texts += [thing.method, thing.url, repr(thing.headers)]
                self.texts += [repr(dict(thing.headers)), repr(thing.body)]
            if isinstance(thing, Status):
                self.see(thing.exception)
                self.texts += [repr(thing.headers), repr(thing.body), repr(thing.error)]

    def run(self, convention: str, make: Callable[..., Any]) -> Any:
        """Run one call in ``convention``, recording what it gives back or raises."""
        try:
            if convention == "blocking":
                result = make()
            elif convention == "callback":
                result = asyncio.run(self._callback(make))
            else:

                async def awaited() -> Any:
                    return await make()

                result = asyncio.run(awaited())
        except CouchError as exc:
            self.see(exc)
            return exc
        self.see(result)
        return result

    async def _callback(self, make: Callable[..., Any]) -> Any:
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def callback(data: Any, status: Status) -> None:
            self.see(data, status)
            if status.exception is not None:
                done.set_exception(status.exception)
            else:
                done.set_result(data)

        replica = make(callback=callback)
        self.see(replica)
        return await asyncio.wait_for(done, 60)

    def leaks(self, records: list[logging.LogRecord]) -> list[str]:
        texts = list(self.texts)
        for record in records:
            texts += [record.getMessage(), repr(record.args), record.name]
        return [t for t in texts for s in spellings(PASSWORD) if s in t]


def wait_until_hashed(admin: Couch, name: str) -> None:
    """Wait until the server stored admin ``name``'s password hashed.

    CouchDB 3 answers ``PUT _config/admins/NAME`` before the password is usable:
    the plain value is stored first and replaced by its hash a moment later, and
    a login meanwhile is a 401 (which also counts towards the account lockout).
    So the fixture watches the stored value, through the admin, instead of trying
    to log in; pouchdb-server stores the hash at once.
    """
    deadline = time.monotonic() + 30
    while True:
        stored = admin.config(f"admins/{name}")
        if isinstance(stored, str) and stored.startswith("-"):  # -pbkdf2-..., -hashed-...
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the server never hashed admin {name!r}'s password")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def sentinel(couchdb_url: str) -> Iterator[str]:
    """A second server admin, ``sentinel``, with this test's password, usable at once."""
    admin = Couch(couchdb_url)
    admin.config(f"admins/{USER}", PASSWORD)
    try:
        wait_until_hashed(admin, USER)
        me = Couch(bare(couchdb_url), auth=(USER, PASSWORD)).session()
        assert me.userCtx.name == USER, me
        yield PASSWORD
    finally:
        admin.config(f"admins/{USER}", delete=True)
        admin.close()


@pytest.fixture
def recorder(caplog: pytest.LogCaptureFixture) -> Iterator[Recorder]:
    caplog.set_level(logging.DEBUG, logger="corduroy")
    recorder = Recorder()
    yield recorder
    records = caplog.get_records("setup") + caplog.get_records("call")
    assert [r for r in records if r.levelno == logging.DEBUG], "no DEBUG line seen"
    assert recorder.leaks(records) == []


def bare(couchdb_url: str) -> str:
    parts = urlsplit(couchdb_url)
    return f"{parts.scheme}://{parts.hostname}:{parts.port}/"


def with_password(url: str, password: str = PASSWORD, user: str = USER) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{user}:{quote(password, safe='')}@{parts.netloc}{parts.path}"


def couches(couchdb_url: str) -> dict[str, Callable[[], Couch]]:
    url = bare(couchdb_url)
    return {
        "url": lambda: Couch(with_password(url)),
        "auth": lambda: Couch(url, auth=(USER, PASSWORD)),
        "session": lambda: Couch(url, auth=(USER, PASSWORD), session=True),
    }


def full_run(rec: Recorder, couch: Couch, convention: str) -> None:
    rec.see(couch, couch._conn)
    name = f"secrets-{uuid.uuid4().hex[:10]}"
    db = rec.run(convention, lambda **kw: couch.create(name, **kw))
    assert isinstance(db, Database), db
    rec.see(db, db.url)
    try:
        saved = rec.run(convention, lambda **kw: db.save({"_id": "a", "n": 1}, **kw))
        assert not isinstance(saved, CouchError), saved
        doc = rec.run(convention, lambda **kw: db.get("a", **kw))
        assert doc["n"] == 1
        assert isinstance(rec.run(convention, lambda **kw: db.get("nope", **kw)), NotFound)
        rows = rec.run(convention, lambda **kw: db.view("_all_docs", **kw))
        rec.see(*rows.rows)
        rec.run(convention, lambda **kw: couch.info(**kw))
        rec.run(convention, lambda **kw: couch.session(**kw))
    finally:
        rec.run("blocking", lambda **kw: couch.delete(name, **kw))
        couch.close()


@pytest.mark.parametrize("convention", CONVENTIONS[:3])
@pytest.mark.parametrize("how", ["url", "auth", "session"])
def test_credentials_never_show(
    couchdb_url: str, sentinel: str, recorder: Recorder, how: str, convention: str
) -> None:
    full_run(recorder, couches(couchdb_url)[how](), convention)


@pytest.mark.parametrize("how", ["url", "auth", "session"])
def test_wrong_password_and_transport_errors_never_show_it(
    couchdb_url: str, sentinel: str, recorder: Recorder, how: str
) -> None:
    # the failed logins are a throwaway user's (2 per test, far below CouchDB 3.4's
    # lockout), never the sentinel admin's: a locked admin would fail the other tests
    admin = Couch(couchdb_url)
    name = f"throwaway-{uuid.uuid4().hex[:10]}"
    admin.create_user(name, uuid.uuid4().hex)
    wrong = PASSWORD[::-1]
    url = bare(couchdb_url)
    make = {
        "url": lambda u, p: Couch(with_password(u, p, name), retry=False),
        "auth": lambda u, p: Couch(u, auth=(name, p), retry=False),
        "session": lambda u, p: Couch(u, auth=(name, p), session=True, retry=False),
    }[how]
    for convention in ("blocking", "callback"):
        couch = make(url, wrong)
        refused = recorder.run(convention, lambda c=couch, **kw: c.info(**kw))
        assert isinstance(refused, Unauthorized)
        nowhere = make("http://127.0.0.1:9/", PASSWORD)
        recorder.run(convention, lambda c=nowhere, **kw: c.info(**kw))
    recorder.texts = [t.replace(wrong, "") for t in recorder.texts]  # it may show: it is wrong
    admin.users.delete(admin.users.get(f"org.couchdb.user:{name}"))
    admin.close()


def test_retry_warnings_never_show_it(
    couchdb_url: str, sentinel: str, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    parts = urlsplit(couchdb_url)
    with FaultProxy((parts.hostname or "127.0.0.1", parts.port or 5984)) as proxy:
        for how in ("url", "auth", "session"):
            couch = couches(proxy.url_for(couchdb_url))[how]()
            couch._conn.config.retry = RetryPolicy(backoff=0.01)
            proxy.inject("drop", times=1)
            recorder.run("blocking", lambda c=couch, **kw: c.info(**kw))
            proxy.inject("unavailable", times=1, retry_after="0")
            recorder.run("await", lambda c=couch, **kw: c.info(**kw))
            couch.close()
    assert [r for r in caplog.records if r.levelno == logging.WARNING]


@pytest.mark.parametrize("convention", CONVENTIONS[:3])
def test_replication_endpoints_never_show_it(
    couchdb_url: str, sentinel: str, recorder: Recorder, convention: str
) -> None:
    couch = Couch(bare(couchdb_url), auth=(USER, PASSWORD))
    source, target = (f"secrets-{uuid.uuid4().hex[:10]}" for _ in range(2))
    src = couch.create(source)
    try:
        src.save({"_id": "r", "n": 1})
        endpoint = with_password(bare(couchdb_url)) + source
        recorder.see(endpoint.replace(PASSWORD, "").replace(quote(PASSWORD, safe=""), ""))
        result = recorder.run(
            convention,
            lambda **kw: couch.replicate(endpoint, target, create_target=True, **kw),
        )
        assert not isinstance(result, CouchError), result
        result = recorder.run(convention, lambda **kw: couch.replicate(src, target, **kw))
        assert not isinstance(result, CouchError), result
        assert couch[target].get("r")["n"] == 1
        failed = recorder.run(
            convention,
            lambda **kw: couch.replicate(endpoint, target, doc_ids="not-a-list", **kw),
        )
        assert isinstance(failed, CouchError)
    finally:
        for name in (source, target):
            try:
                couch.delete(name)
            except NotFound:
                pass
        couch.close()
