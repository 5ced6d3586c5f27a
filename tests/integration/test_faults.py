"""Faults between corduroy and the server, injected by tests/faultproxy.py.

Every call either succeeds after a retry or raises a ``TransportError`` /
``ServerError`` within its (short) timeout; a truncated answer is never
returned as data; a write the server may have seen is never sent twice.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from conventions import CONVENTIONS, call
from corduroy import Couch, Database
from corduroy.errors import ConnectionDropped, ServerError, Timeout, TransportError
from corduroy.http import RetryPolicy
from corduroy.views import View
from faultproxy import FaultProxy

pytestmark = pytest.mark.timeout(60)

#: quick retries, so the tests stay fast; the caps are the default ones otherwise
FAST = RetryPolicy(backoff=0.02, max_backoff=0.2, total=10.0)
READ_TIMEOUT = 1.0


@pytest.fixture(scope="module")
def proxy(couchdb_url: str) -> Iterator[FaultProxy]:
    parts = urlsplit(couchdb_url)
    with FaultProxy((parts.hostname or "127.0.0.1", parts.port or 5984)) as fault_proxy:
        yield fault_proxy


@pytest.fixture
def fdb(proxy: FaultProxy, couchdb_url: str, tmp_db: Database) -> Iterator[Database]:
    """``tmp_db`` with three documents, seen through the proxy by a fresh Couch."""
    tmp_db.save([{"_id": i, "n": n} for n, i in enumerate("abc")])
    proxy.reset()
    couch = Couch(
        proxy.url_for(couchdb_url), read_timeout=READ_TIMEOUT, connect_timeout=1.0, retry=FAST
    )
    yield couch[tmp_db.name]
    proxy.clear()
    couch.close()


def rows(result: Any) -> Any:
    """A view's rows as plain data (a blocking View streams lazily: read it all here)."""
    if isinstance(result, View):
        return [(row.id, row.key) for row in result.rows]
    return result


READS: dict[str, Callable[[Database], Callable[..., Any]]] = {
    "get": lambda db: lambda **kw: db.get("b", **kw),
    "get_many": lambda db: lambda **kw: db.get(["a", "c"], **kw),  # POST _all_docs keys
    "all_docs": lambda db: lambda **kw: db.view("_all_docs", **kw),
    "info": lambda db: lambda **kw: db.info(**kw),
}


#: streamed reads: once the head is in, rows may be handed over, so a broken body raises
STREAMED = {"all_docs"}


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("fault", ["drop", "reset", "truncate", "unavailable"])
@pytest.mark.parametrize("read", sorted(READS))
def test_a_read_succeeds_after_one_fault(
    fdb: Database, proxy: FaultProxy, convention: str, fault: str, read: str
) -> None:
    clean = rows(call("blocking", READS[read](fdb)))
    if read == "info":
        clean.pop("update_seq", None)
    proxy.inject(fault, times=1, retry_after="0")
    if read in STREAMED and fault in ("drop", "truncate"):
        with pytest.raises(ConnectionDropped):
            rows(call(convention, READS[read](fdb)))
        assert proxy.faults() == [fault]
        assert rows(call(convention, READS[read](fdb))) == clean
        return
    result = rows(call(convention, READS[read](fdb)))
    if read == "info":
        result.pop("update_seq", None)
    assert result == clean
    assert proxy.faults() == [fault]
    methods = [(m, t) for m, t, _ in proxy.seen[-2:]]
    assert methods[0] == methods[1]  # the same request, sent again


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_retry_after_is_honoured(fdb: Database, proxy: FaultProxy, convention: str) -> None:
    proxy.inject("unavailable", times=1, retry_after="1")
    started = time.monotonic()
    assert call(convention, READS["get"](fdb))["n"] == 1
    assert time.monotonic() - started >= 0.95
    assert proxy.faults() == ["unavailable"]


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("fault", ["stall", "stall_body"])
def test_a_stalled_server_times_out(
    fdb: Database, proxy: FaultProxy, convention: str, fault: str
) -> None:
    proxy.inject(fault, times=None)
    started = time.monotonic()
    with pytest.raises(Timeout):
        rows(call(convention, READS["all_docs"](fdb)))
    # bounded by the Couch's read_timeout, not the 60 s default
    assert time.monotonic() - started < 10 * READ_TIMEOUT
    proxy.clear()
    assert call(convention, READS["get"](fdb))["n"] == 1


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("fault", ["drop", "truncate"])
def test_a_truncated_answer_is_never_data(
    fdb: Database, proxy: FaultProxy, convention: str, fault: str
) -> None:
    proxy.inject(fault, times=None)
    for read in ("get", "get_many", "all_docs"):
        with pytest.raises(ConnectionDropped):
            rows(call(convention, READS[read](fdb)))
    assert len(proxy.faults()) == 2 * FAST.attempts + 1  # a streamed read is not repeated


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_retries_stop_at_the_attempt_cap(fdb: Database, proxy: FaultProxy, convention: str) -> None:
    proxy.inject("unavailable", times=None, retry_after="0")
    with pytest.raises(ServerError) as info:
        call(convention, READS["get"](fdb))
    assert info.value.status == 503
    assert proxy.faults() == ["unavailable"] * FAST.attempts


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("fault", ["unavailable", "stall"])
def test_a_write_the_server_may_have_seen_is_sent_once(
    fdb: Database, proxy: FaultProxy, convention: str, fault: str
) -> None:
    # a 503 or a silent server may mean "working on it": the write is not sent again
    docid = f"w-{uuid.uuid4().hex}"
    proxy.inject(fault, times=1, retry_after="0")
    with pytest.raises((TransportError, ServerError)):
        call(convention, lambda **kw: fdb.save({"_id": docid, "fault": fault}, **kw))
    assert [m for m, t, _ in proxy.seen if docid in t] == ["PUT"]
    proxy.clear()
    assert docid not in fdb


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("fault", ["drop", "reset", "truncate"])
def test_a_write_whose_connection_dropped_is_resent_and_lands_once(
    fdb: Database, proxy: FaultProxy, convention: str, fault: str
) -> None:
    # the server wrote the doc, then the connection broke: the resend answers 409, the
    # stored doc is what was sent, so the first attempt landed and the save succeeds
    docid = f"w-{uuid.uuid4().hex}"
    doc = {"_id": docid, "fault": fault, "n": [1, 2.5, "x"]}
    proxy.inject(fault, times=1)
    result = call(convention, lambda **kw: fdb.save(doc, **kw))
    assert [m for m, t, _ in proxy.seen if docid in t] == ["PUT", "PUT", "GET"]
    stored = fdb.get(docid)
    assert stored["_rev"].startswith("1-") and stored["_rev"] == doc["_rev"]
    assert result is not None


def test_an_update_whose_connection_dropped_is_resent_and_lands_once(
    fdb: Database, proxy: FaultProxy
) -> None:
    doc = fdb.get("a")
    doc["n"] = 41
    proxy.inject("drop", times=1)
    fdb.save(doc)
    assert doc["_rev"].startswith("2-") and fdb.get("a")["n"] == 41


def test_a_resend_does_not_hide_someone_elses_write(fdb: Database, proxy: FaultProxy) -> None:
    from corduroy import Conflict

    stale = fdb.get("a")
    fresh = fdb.get("a")
    fresh["by"] = "someone else"
    fdb.save(fresh)
    stale["by"] = "me"
    proxy.inject("drop", times=1)  # this one reaches the server and conflicts there
    with pytest.raises(Conflict):
        fdb.save(stale)
    assert fdb.get("a")["by"] == "someone else"


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_bulk_write_whose_connection_dropped_is_resent_and_lands_once(
    fdb: Database, proxy: FaultProxy, convention: str
) -> None:
    tag = uuid.uuid4().hex
    docs = [{"_id": f"b-{tag}-{i}", "i": i} for i in range(5)]
    proxy.inject("drop", times=1)
    call(convention, lambda **kw: fdb.save(docs, **kw))
    assert [m for m, t, _ in proxy.seen if t.endswith("/_bulk_docs")] == ["POST", "POST"]
    for doc in docs:
        assert doc["_rev"].startswith("1-") and fdb.get(doc["_id"])["_rev"] == doc["_rev"]


def test_without_retries_a_dropped_write_is_not_resent(fdb: Database, proxy: FaultProxy) -> None:
    db = Couch(_with_auth(fdb), retry=False, read_timeout=READ_TIMEOUT)[fdb.name]
    docid = f"w-{uuid.uuid4().hex}"
    proxy.inject("drop", times=1)
    with pytest.raises(ConnectionDropped):
        db.save({"_id": docid})
    assert [m for m, t, _ in proxy.seen if docid in t] == ["PUT"]
    db.couch.close()


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_a_write_is_retried_when_the_connection_never_opened(
    fdb: Database, proxy: FaultProxy, convention: str
) -> None:
    docid = f"w-{uuid.uuid4().hex}"
    policy = RetryPolicy(attempts=100, backoff=0.02, max_backoff=0.1, total=20.0)
    db = Couch(_with_auth(fdb), retry=policy)[fdb.name]  # no pooled connection yet
    proxy.pause()
    timer = threading.Timer(0.3, proxy.resume)
    timer.start()
    try:
        result = call(convention, lambda **kw: db.save({"_id": docid}, **kw))
    finally:
        timer.join()
        db.couch.close()
    assert result.ok
    assert [m for m, t, _ in proxy.seen if docid in t] == ["PUT"]
    assert fdb.get(docid)["_rev"].startswith("1-")


def _with_auth(db: Database) -> str:
    return db.couch._conn.credentialed_url()


def test_without_retries_the_first_fault_is_reported(fdb: Database, proxy: FaultProxy) -> None:
    db = Couch(_with_auth(fdb), retry=False, read_timeout=READ_TIMEOUT)[fdb.name]
    proxy.inject("drop", times=1)
    with pytest.raises(ConnectionDropped):
        db.get("a")
    proxy.inject("unavailable", times=1, retry_after="0")
    with pytest.raises(ServerError):
        db.get("a")
    assert db.get("a")["n"] == 0
