"""How a Connection applies the auth policy, against fake nodes (no network).

The fake node answers logins with a cookie and checks the cookie on other
requests, so session renewal and single-flight login can be observed from the
requests that reach it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from core_recorded import recorded, response_of

from corduroy import AccountLocked, Forbidden, InvalidInput, Unauthorized
from corduroy.auth import JWTAuth, SessionAuth
from corduroy.connection import Connection, ServerUrl
from corduroy.http.messages import Headers, Request, Response
from corduroy.lockout import REFUSAL_HOLD


def response(status: int, body: Any = None, cookies: tuple[str, ...] = ()) -> Response:
    headers = Headers([("Content-Type", "application/json")] + [("Set-Cookie", c) for c in cookies])
    return Response(status, headers, json.dumps(body).encode() if body is not None else b"")


# -- a Connection against a fake node ------------------------------------------------------------


class FakeNode:
    """Answers POST /_session with a fresh cookie; other requests need the latest one."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.logins = 0
        self.valid: set[str] = set()
        self.seen: list[Request] = []
        self.admin_only: set[str] = set()
        self._lock = threading.Lock()

    def answer(self, request: Request) -> Response:
        with self._lock:
            self.seen.append(request)
        if request.path == "/_session" and request.method == "POST":
            if json.loads(request.body or b"{}").get("password") != "secret":
                return response(
                    401, {"error": "unauthorized", "reason": "Name or password is incorrect."}
                )
            time.sleep(self.delay)
            with self._lock:
                self.logins += 1
                cookie = f"c{self.logins}"
                self.valid.add(cookie)
            return response(200, {"ok": True}, (f"AuthSession={cookie}; Max-Age=600; Path=/",))
        cookie = (request.header("Cookie") or "").removeprefix("AuthSession=")
        if request.path == "/_session" and request.method == "GET":  # anonymous when unknown
            name = "admin" if cookie in self.valid else None
            return response(200, {"ok": True, "userCtx": {"name": name, "roles": []}})
        if cookie not in self.valid or request.path in self.admin_only:
            return response(401, {"error": "unauthorized", "reason": "You are not a server admin."})
        return response(200, {"ok": True})

    def forget(self) -> None:
        self.valid.clear()

    def send(self, request: Request) -> Response:
        return self.answer(request)


class AsyncFakeNode(FakeNode):
    async def send(self, request: Request) -> Response:  # type: ignore[override]
        if self.delay and request.path == "/_session":
            await asyncio.sleep(self.delay)
            saved, self.delay = self.delay, 0.0
            try:
                return self.answer(request)
            finally:
                self.delay = saved
        return self.answer(request)


def session_connection(
    node: FakeNode, password: str = "secret", async_node: AsyncFakeNode | None = None
) -> Connection:
    conn = Connection(ServerUrl("http://fake:5984/"), auth=SessionAuth("admin", password))
    conn._node.sync = node  # type: ignore[assignment]
    conn._node.async_ = async_node  # type: ignore[assignment]
    return conn


def test_the_connection_logs_in_once_and_reuses_the_cookie():
    node = FakeNode()
    conn = session_connection(node)
    for _ in range(3):
        assert conn.send(Request("GET", "/_all_dbs")).status == 200
    assert node.logins == 1
    assert [r.path for r in node.seen] == ["/_session", "/_all_dbs", "/_all_dbs", "/_all_dbs"]


def test_a_forgotten_session_is_renewed_and_the_request_sent_again():
    node = FakeNode()
    conn = session_connection(node)
    conn.send(Request("GET", "/_all_dbs"))
    node.forget()
    answer = conn.send(Request("PUT", "/db/doc", body=b'{"a":1}'))
    assert answer.status == 200
    assert node.logins == 2
    assert [(r.method, r.path) for r in node.seen[-4:]] == [
        ("PUT", "/db/doc"),
        ("GET", "/_session"),  # the cookie is checked: the server forgot it
        ("POST", "/_session"),
        ("PUT", "/db/doc"),
    ]


def test_a_401_under_a_valid_session_is_the_answer_and_the_cookie_is_kept():
    node = FakeNode()
    node.admin_only.add("/_node/_local/_config")
    conn = session_connection(node)
    conn.send(Request("GET", "/_all_dbs"))
    for _ in range(3):
        answer = conn.send(Request("GET", "/_node/_local/_config"))
        assert answer.status == 401
    assert node.logins == 1  # no fresh login replaced the valid cookie
    assert not [r for r in node.seen[2:] if r.method == "POST"]
    assert conn.send(Request("GET", "/_all_dbs")).status == 200
    assert node.seen[-1].header("Cookie") == "AuthSession=c1"


def test_a_401_under_a_valid_session_is_the_answer_in_async_code_too():
    node = AsyncFakeNode()
    node.admin_only.add("/_node/_local/_config")
    conn = session_connection(node, async_node=node)

    async def main() -> list[int]:
        return [
            (await conn.send_async(Request("GET", "/_node/_local/_config"))).status
            for _ in range(3)
        ]

    assert asyncio.run(main()) == [401] * 3
    assert node.logins == 1


def test_a_wrong_password_raises_unauthorized_without_the_password_anywhere():
    conn = session_connection(FakeNode(), password="hunter2")
    with pytest.raises(Unauthorized) as caught:
        conn.send(Request("GET", "/_all_dbs"))
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value.body)
    assert caught.value.url == "http://fake:5984/_session"


def test_a_refused_login_is_not_sent_again_while_the_refusal_holds():
    node = FakeNode()
    conn = session_connection(node, password="wrong")
    for _ in range(4):
        with pytest.raises(Unauthorized):
            conn.send(Request("GET", "/_all_dbs"))
    # one failed login reached the server, not four (CouchDB locks the account at six)
    assert [(r.method, r.path) for r in node.seen] == [("POST", "/_session")]
    state = conn._state
    assert state is not None
    state.clock = lambda: time.monotonic() + REFUSAL_HOLD  # the hold is over
    with pytest.raises(Unauthorized):
        conn.send(Request("GET", "/_all_dbs"))
    assert len(node.seen) == 2


class LockedNode:
    """Answers every login with CouchDB 3.4's recorded lockout 403."""

    def __init__(self) -> None:
        self.answer = response_of(
            recorded("auth_lockout")["admin_session_post_right_password_locked_403"]
        )
        self.seen = 0

    def send(self, request: Request) -> Response:
        self.seen += 1
        return self.answer


def test_a_locked_account_raises_account_locked_once_per_hold():
    node = LockedNode()
    conn = Connection(ServerUrl("http://fake:5984/"), auth=SessionAuth("admin", "secret"))
    conn._node.sync = node  # type: ignore[assignment]
    for _ in range(3):
        with pytest.raises(AccountLocked) as caught:
            conn.send(Request("GET", "/_all_dbs"))
        assert isinstance(caught.value, Forbidden)
        assert "locked" in str(caught.value) and "secret" not in str(caught.value)
    assert node.seen == 1


def test_threads_failing_together_share_one_login():
    node = FakeNode(delay=0.05)
    conn = session_connection(node)
    conn.send(Request("GET", "/_all_dbs"))
    node.forget()
    barrier = threading.Barrier(8)
    results: list[int] = []

    def work() -> None:
        barrier.wait()
        results.append(conn.send(Request("GET", "/_all_dbs")).status)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [200] * 8
    assert node.logins == 2  # the first one, and one renewal for all eight threads


def test_tasks_failing_together_share_one_login():
    node = AsyncFakeNode(delay=0.05)
    conn = session_connection(node, async_node=node)

    async def main() -> list[int]:
        await conn.send_async(Request("GET", "/_all_dbs"))
        node.forget()
        answers = await asyncio.gather(
            *(conn.send_async(Request("GET", "/_all_dbs")) for _ in range(8))
        )
        return [a.status for a in answers]

    assert asyncio.run(main()) == [200] * 8
    assert node.logins == 2


def test_tasks_starting_together_log_in_once():
    node = AsyncFakeNode(delay=0.05)
    conn = session_connection(node, async_node=node)

    async def main() -> list[int]:
        answers = await asyncio.gather(
            *(conn.send_async(Request("GET", "/_all_dbs")) for _ in range(5))
        )
        return [a.status for a in answers]

    assert asyncio.run(main()) == [200] * 5
    assert node.logins == 1


class TokenNode:
    def __init__(self) -> None:
        self.valid = "t1"
        self.seen: list[str | None] = []

    def send(self, request: Request) -> Response:
        self.seen.append(request.header("Authorization"))
        ok = request.header("Authorization") == "Bearer " + self.valid
        return response(200 if ok else 401, {})


def token_connection(supplier: Callable[[], Any]) -> tuple[Connection, TokenNode]:
    node = TokenNode()
    conn = Connection(ServerUrl("http://fake:5984/"), auth=JWTAuth(supplier))
    conn._node.sync = node  # type: ignore[assignment]
    return conn, node


def test_a_token_supplier_is_asked_again_after_a_401():
    tokens = iter(["t1", "t2"])
    conn, node = token_connection(lambda: next(tokens))
    assert conn.send(Request("GET", "/")).status == 200
    node.valid = "t2"  # the old token expired on the server
    assert conn.send(Request("GET", "/")).status == 200
    assert node.seen == ["Bearer t1", "Bearer t1", "Bearer t2"]


def test_an_async_token_supplier_works_in_async_code_and_is_refused_when_blocking():
    async def supplier() -> str:
        return "t1"

    node = TokenNode()
    conn = Connection(ServerUrl("http://fake:5984/"), auth=JWTAuth(supplier))

    class Async:
        async def send(self, request: Request) -> Response:
            return node.send(request)

    conn._node.async_ = Async()  # type: ignore[assignment]
    conn._node.sync = node  # type: ignore[assignment]
    assert asyncio.run(conn.send_async(Request("GET", "/"))).status == 200
    fresh = Connection(ServerUrl("http://fake:5984/"), auth=JWTAuth(supplier))
    fresh._node.sync = node  # type: ignore[assignment]
    with pytest.raises(InvalidInput):
        fresh.send(Request("GET", "/"))


class BasicNode:
    """Answers every request with one recorded CouchDB 3.4.3 answer."""

    def __init__(self, exchange: str) -> None:
        self.answer = response_of(recorded("auth_lockout")[exchange])
        self.seen = 0

    def send(self, request: Request) -> Response:
        self.seen += 1
        return self.answer


def basic_connection(node: BasicNode) -> Connection:
    conn = Connection(ServerUrl("http://fake:5984/", "bob", "wrong"))
    conn._node.sync = node  # type: ignore[assignment]
    return conn


@pytest.mark.parametrize(
    ("exchange", "error"),
    [
        ("bob_basic_wrong_password_5_401", Unauthorized),
        ("bob_basic_wrong_password_6_403_locked", AccountLocked),
    ],
)
def test_refused_basic_credentials_are_not_sent_again_while_the_refusal_holds(exchange, error):
    node = BasicNode(exchange)
    conn = basic_connection(node)
    assert conn.send(Request("GET", "/_session")).status in (401, 403)  # the driver raises it
    for _ in range(5):  # each of these would have been one more failed login
        with pytest.raises(error) as caught:
            conn.send(Request("GET", "/_session"))
        assert "wrong" not in str(caught.value)
    assert node.seen == 1


def test_refused_basic_credentials_are_held_back_in_async_code_too():
    node = BasicNode("bob_basic_wrong_password_5_401")
    conn = basic_connection(node)

    class Async:
        async def send(self, request: Request) -> Response:
            return node.send(request)

    conn._node.async_ = Async()  # type: ignore[assignment]

    async def main() -> None:
        assert (await conn.send_async(Request("GET", "/_all_dbs"))).status == 401
        with pytest.raises(Unauthorized):
            await conn.send_async(Request("GET", "/_all_dbs"))

    asyncio.run(main())
    assert node.seen == 1


def test_a_permission_401_to_basic_credentials_holds_nothing_back():
    node = FakeNode()  # "You are not a server admin." to anything without its cookie
    conn = Connection(ServerUrl("http://fake:5984/", "bob", "right"))
    conn._node.sync = node  # type: ignore[assignment]
    for _ in range(3):
        assert conn.send(Request("GET", "/_node/_local/_config")).status == 401
    assert len(node.seen) == 3


class LockedAfterFirstLogin(FakeNode):
    """Logs in once; later logins get CouchDB 3.4's recorded lockout 403 (someone else's
    failed logins from this address locked the account), while the cookie keeps working."""

    def answer(self, request: Request) -> Response:
        if request.path == "/_session" and request.method == "POST" and self.logins:
            with self._lock:
                self.seen.append(request)
            return response_of(
                recorded("auth_lockout")["admin_session_post_right_password_locked_403"]
            )
        return super().answer(request)


def test_a_valid_session_is_kept_when_renewing_it_hits_the_lockout():
    node = LockedAfterFirstLogin()
    conn = session_connection(node)
    state = conn._state
    assert state is not None
    now = [1000.0]
    state.clock = lambda: now[0]
    assert conn.send(Request("GET", "/_all_dbs")).status == 200  # cookie c1, Max-Age=600
    now[0] += 550  # time to renew before it expires: the login is refused (locked)...
    assert conn.send(Request("GET", "/_all_dbs")).status == 200  # ...and c1 still serves
    now[0] += 30
    assert conn.send(Request("GET", "/_all_dbs")).status == 200
    logins = [r for r in node.seen if r.method == "POST"]
    assert len(logins) == 2  # one refused renewal, not one per request
    assert node.seen[-1].header("Cookie") == "AuthSession=c1"
    now[0] += 30  # past the cookie's Max-Age, and the refusal still holds
    with pytest.raises(AccountLocked):
        conn.send(Request("GET", "/_all_dbs"))
    assert len([r for r in node.seen if r.method == "POST"]) == 2


def test_the_exchange_by_hand_checks_the_session_renews_once_and_sends_again():
    """The one code path both conventions run: what it asks for, answered by hand."""
    from corduroy.connection import _Renew

    conn = session_connection(FakeNode())
    steps = conn._exchange(Request("GET", "/db"))
    assert next(steps) == _Renew(0)  # no session yet
    renewal = conn._renewal(0)
    login = next(renewal)
    assert (login.method, login.path) == ("POST", "/_session")
    with pytest.raises(StopIteration):
        renewal.send(response(200, {"ok": True}, ("AuthSession=c1; Max-Age=600; Path=/",)))
    sent = steps.send(None)
    assert sent.path == "/db" and sent.header("Cookie") == "AuthSession=c1"
    unauthorized = {"error": "unauthorized", "reason": "x"}
    check = steps.send(response(401, unauthorized))
    assert (check.method, check.path) == ("GET", "/_session")
    renew = steps.send(response(200, {"ok": True, "userCtx": {"name": None, "roles": []}}))
    assert isinstance(renew, _Renew)  # the server forgot the session: log in again
    assert renew.seen == 1
