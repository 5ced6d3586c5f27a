"""The auth policy (corduroy.auth) and how a Connection applies it, with no network.

A fake transport stands in for a node: it answers logins with a cookie and
checks the cookie on other requests, so session renewal and single-flight
login can be observed from the requests that reach it.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import pickle
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from corduroy import Couch, InvalidInput, Unauthorized
from corduroy.auth import BasicAuth, JWTAuth, ProxyAuth, SessionAuth
from corduroy.connection import Connection, ServerUrl
from corduroy.http.messages import Headers, Request, Response

COUCH3_COOKIE = (
    "AuthSession=YWRtaW46NjlDNDQ; Version=1; Expires=Thu, 26-Nov-2026 20:34:20 GMT; "
    "Max-Age=600; Path=/; HttpOnly"
)
POUCH_COOKIE = "AuthSession=YWRtaW46NkIwODlCM0U64gAom12arWLrXtJPf7A; Path=/; HttpOnly"
CLEARED = "AuthSession=; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT"


def response(status: int, body: Any = None, cookies: tuple[str, ...] = ()) -> Response:
    headers = Headers([("Content-Type", "application/json")] + [("Set-Cookie", c) for c in cookies])
    return Response(status, headers, json.dumps(body).encode() if body is not None else b"")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def session_state(clock: Clock | None = None) -> Any:
    state = SessionAuth("admin", "secret").bind()
    if clock is not None:
        state.clock = clock
    return state


# -- the pure policy -------------------------------------------------------------------------


def test_a_new_session_logs_in_before_the_first_request_with_name_and_password():
    state = session_state()
    assert state.needs_renewal()
    login = state.login_request()
    assert (login.method, login.path) == ("POST", "/_session")
    assert json.loads(login.body) == {"name": "admin", "password": "secret"}
    assert login.header("Content-Type") == "application/json"


def test_the_cookie_from_a_couchdb3_login_goes_on_every_later_request():
    state = session_state()
    assert state.accept_login(response(200, {"ok": True}, (COUCH3_COOKIE,)))
    assert not state.needs_renewal()
    prepared, generation = state.prepare(Request("GET", "/db/doc"))
    assert prepared.header("Cookie") == "AuthSession=YWRtaW46NjlDNDQ"
    assert generation == 1


def test_a_session_is_renewed_shortly_before_max_age_runs_out():
    clock = Clock()
    state = session_state(clock)
    state.accept_login(response(200, {"ok": True}, (COUCH3_COOKIE,)))  # Max-Age=600
    clock.now += 500
    assert not state.needs_renewal()
    clock.now += 60  # 560 s of 600: inside the renewal margin
    assert state.needs_renewal()


def test_a_refreshed_cookie_on_any_answer_extends_the_session():
    clock = Clock()
    state = session_state(clock)
    state.accept_login(response(200, {"ok": True}, (COUCH3_COOKIE,)))
    clock.now += 500
    state.observe(response(200, {}, ("AuthSession=NEWER; Max-Age=600; Path=/",)))
    clock.now += 100
    assert not state.needs_renewal()
    assert state.prepare(Request("GET", "/"))[0].header("Cookie") == "AuthSession=NEWER"


def test_a_cookie_without_max_age_never_expires_on_our_side():
    clock = Clock()
    state = session_state(clock)
    state.accept_login(response(200, {"ok": True}, (POUCH_COOKIE,)))
    clock.now += 10**6
    assert not state.needs_renewal()


def test_logging_out_clears_the_cookie_even_when_the_old_one_is_repeated_first():
    state = session_state()
    state.accept_login(response(200, {"ok": True}, (POUCH_COOKIE,)))
    state.observe(response(200, {"ok": True}, (POUCH_COOKIE, CLEARED)))  # pouchdb's DELETE
    assert state.needs_renewal()
    assert state.prepare(Request("GET", "/"))[0].header("Cookie") is None


def test_cookies_folded_into_one_header_are_split_at_cookie_boundaries_only():
    state = session_state()
    folded = f"{POUCH_COOKIE}, Other=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT, {COUCH3_COOKIE}"
    assert state.accept_login(response(200, {"ok": True}, (folded,)))
    assert state.prepare(Request("GET", "/"))[0].header("Cookie") == "AuthSession=YWRtaW46NjlDNDQ"


def test_a_login_answer_without_cookie_is_not_a_session():
    state = session_state()
    assert not state.accept_login(response(200, {"ok": True}))
    assert state.needs_renewal()


@pytest.mark.parametrize(
    ("request_", "answer", "retry"),
    [
        (Request("GET", "/_all_dbs"), response(401, {"error": "unauthorized"}), True),
        (Request("PUT", "/db/x", body=b"{}"), response(401, {}), True),
        (Request("PUT", "/db/x", body=iter([b"{}"])), response(401, {}), False),
        (Request("POST", "/_session", body=b"{}"), response(401, {}), False),
        (Request("GET", "/db"), response(403, {}), False),
        (Request("GET", "/db"), response(200, {}), False),
    ],
)
def test_which_answers_mean_renew_and_retry(request_, answer, retry):
    state = session_state()
    assert state.should_retry(request_, answer) is retry


def test_an_anonymous_session_answer_to_a_cookie_means_the_server_forgot_it():
    state = session_state()
    state.accept_login(response(200, {"ok": True}, (POUCH_COOKIE,)))
    with_cookie, _ = state.prepare(Request("GET", "/_session"))
    anonymous = response(200, {"ok": True, "userCtx": {"name": None, "roles": []}})
    known = response(200, {"ok": True, "userCtx": {"name": "admin", "roles": ["_admin"]}})
    assert state.should_retry(with_cookie, anonymous)
    assert not state.should_retry(with_cookie, known)
    assert not state.should_retry(Request("GET", "/_session"), anonymous)  # no cookie sent


def make_jwt(claims: dict[str, Any]) -> str:
    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    return f"{part({'alg': 'HS256'})}.{part(claims)}.c2ln"


def test_a_fixed_jwt_is_a_bearer_header_and_needs_no_state():
    token = make_jwt({"sub": "carol"})
    auth = JWTAuth(token)
    assert auth.headers() == (("Authorization", "Bearer " + token),)
    assert auth.bind() is None
    assert auth.username == "carol"


def test_a_supplied_jwt_is_fetched_again_before_its_exp():
    clock = Clock()
    state = JWTAuth(lambda: "unused").bind()
    state.clock = clock
    assert state.needs_renewal()
    state.accept_token(make_jwt({"sub": "carol", "exp": time.time() + 300}))
    assert not state.needs_renewal()
    assert state.prepare(Request("GET", "/"))[0].header("Authorization").startswith("Bearer ")
    clock.now += 280  # 20 s left: inside the margin (10% of 300 s)
    assert state.needs_renewal()


def test_a_token_supplier_must_give_a_string():
    state = JWTAuth(lambda: None).bind()
    with pytest.raises(InvalidInput):
        state.accept_token(None)


def test_proxy_auth_headers_and_token_are_couchdbs_hmac_of_the_user_name():
    auth = ProxyAuth("dora", ["staff", "ops"], secret="s3cret")
    headers = dict(auth.headers())
    assert headers["X-Auth-CouchDB-UserName"] == "dora"
    assert headers["X-Auth-CouchDB-Roles"] == "staff,ops"
    want = hmac.new(b"s3cret", b"dora", hashlib.sha256).hexdigest()
    assert headers["X-Auth-CouchDB-Token"] == want
    sha1 = dict(ProxyAuth("dora", secret="s3cret", digest="sha1").headers())
    assert sha1["X-Auth-CouchDB-Token"] == hmac.new(b"s3cret", b"dora", hashlib.sha1).hexdigest()
    assert "X-Auth-CouchDB-Token" not in dict(ProxyAuth("dora").headers())


@pytest.mark.parametrize(
    "auth",
    [
        BasicAuth("admin", "hunter2"),
        SessionAuth("admin", "hunter2"),
        JWTAuth("hunter2.hunter2.hunter2"),
        JWTAuth(lambda: "hunter2"),
        ProxyAuth("admin", secret="hunter2"),
    ],
)
def test_no_auth_object_shows_or_pickles_its_secret(auth):
    assert "hunter2" not in repr(auth)
    state = auth.bind()
    if state is not None:
        assert "hunter2" not in repr(state)
    with pytest.raises(TypeError):
        pickle.dumps(auth)


# -- Couch(...) builds the right scheme -------------------------------------------------------


def test_couch_constructor_picks_the_scheme():
    assert isinstance(Couch("http://a:b@h:5984/")._conn.auth, BasicAuth)
    assert isinstance(Couch("http://h:5984/", auth=("a", "b"))._conn.auth, BasicAuth)
    assert isinstance(
        Couch("http://h:5984/", auth=("a", "b"), session=True)._conn.auth, SessionAuth
    )
    assert isinstance(Couch("http://a:b@h:5984/", session=True)._conn.auth, SessionAuth)
    assert isinstance(Couch("http://h:5984/", token="x.y.z")._conn.auth, JWTAuth)
    proxy = ProxyAuth("p", ["r"])
    assert Couch("http://h:5984/", auth=proxy)._conn.auth is proxy
    assert Couch("http://h:5984/")._conn.auth is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"session": True},
        {"auth": ("a", "b"), "token": "x.y.z"},
        {"auth": ProxyAuth("p"), "session": True},
        {"auth": ("only-one",)},
        {"token": 42},
    ],
)
def test_couch_constructor_refuses_contradictions(kwargs):
    with pytest.raises(InvalidInput):
        Couch("http://h:5984/", **kwargs)


def test_couch_repr_and_connection_repr_never_show_the_password():
    for couch in (
        Couch("http://admin:hunter2@h:5984/"),
        Couch("http://h:5984/", auth=("admin", "hunter2"), session=True),
        Couch(["http://admin:hunter2@h1:5984/", "http://h2:5984/"]),
    ):
        assert "hunter2" not in repr(couch)
        assert "hunter2" not in repr(couch._conn)
        assert "hunter2" not in couch.url


def test_couches_of_different_users_are_different():
    assert Couch("http://h:5984/", auth=("a", "1")) != Couch("http://h:5984/", auth=("b", "1"))
    assert Couch("http://h:5984/", auth=("a", "1")) == Couch("http://a:1@h:5984/")


# -- a Connection against a fake node ------------------------------------------------------------


class FakeNode:
    """Answers POST /_session with a fresh cookie; other requests need the latest one."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.logins = 0
        self.valid: set[str] = set()
        self.seen: list[Request] = []
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
        if cookie not in self.valid:
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
    assert [r.path for r in node.seen[-3:]] == ["/db/doc", "/_session", "/db/doc"]


def test_a_wrong_password_raises_unauthorized_without_the_password_anywhere():
    conn = session_connection(FakeNode(), password="hunter2")
    with pytest.raises(Unauthorized) as caught:
        conn.send(Request("GET", "/_all_dbs"))
    assert "hunter2" not in str(caught.value)
    assert "hunter2" not in repr(caught.value.body)
    assert caught.value.url == "http://fake:5984/_session"


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
