"""The auth policy (corduroy.auth) and the schemes Couch(...) builds, with no network.

How a Connection applies it: test_auth_connection.py.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import pickle
import time
from typing import Any

import pytest

from corduroy import Couch, InvalidInput
from corduroy.auth import BasicAuth, JWTAuth, ProxyAuth, SessionAuth
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
        (Request("GET", "/db"), response(403, {}), False),
        (Request("GET", "/db"), response(200, {}), False),
    ],
)
def test_which_answers_mean_fetch_a_token_and_retry(request_, answer, retry):
    state = JWTAuth(lambda: "t").bind()
    assert state is not None
    assert state.should_retry(request_, answer) is retry


@pytest.mark.parametrize(
    ("request_", "answer", "check"),
    [
        (Request("GET", "/_all_dbs"), response(401, {"error": "unauthorized"}), True),
        (Request("PUT", "/db/x", body=b"{}"), response(401, {}), True),
        (Request("PUT", "/db/x", body=iter([b"{}"])), response(401, {}), False),
        (Request("POST", "/_session", body=b"{}"), response(401, {}), False),
        (Request("GET", "/db"), response(403, {}), False),
        (Request("GET", "/db"), response(200, {}), False),
    ],
)
def test_a_401_to_a_session_cookie_is_checked_never_retried_blindly(request_, answer, check):
    # each login with a wrong password counts towards CouchDB 3.4's lockout, and a 401
    # to a valid session is a permission answer: only GET /_session can tell them apart
    state = session_state()
    state.accept_login(response(200, {"ok": True}, (COUCH3_COOKIE,)))
    prepared, _ = state.prepare(request_)
    assert state.should_retry(prepared, answer) is False
    assert state.check_session(prepared, answer) is check


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
