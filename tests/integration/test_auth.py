"""Basic and cookie auth against a pouchdb-server with an admin, in every calling convention.

These tests use their own server (with an unusual password, so a leak cannot hide
behind a common word) because one of them restarts it to make it forget sessions.
Non-admin users never create databases here: that kills pouchdb-server.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator

import pytest

from conventions import CONVENTIONS, call
from corduroy import Couch, Unauthorized
from corduroy.testing.server import EmbeddedServer

PASSWORD = "Pw-7qZ1x-corduroy"
USER_PASSWORD = "Pw-user-93kd"


@pytest.fixture(scope="module")
def server() -> Iterator[EmbeddedServer]:
    with EmbeddedServer(admin=("admin", PASSWORD)) as embedded:
        yield embedded


@pytest.fixture
def base(server: EmbeddedServer) -> str:
    server.ensure_alive()
    return server.base_url


@pytest.fixture
def user(base: str) -> tuple[str, str]:
    """A fresh non-admin user, created by the admin."""
    name = f"user-{uuid.uuid4().hex[:8]}"
    Couch(base, auth=("admin", PASSWORD)).create_user(name, USER_PASSWORD, ["staff"])
    return name, USER_PASSWORD


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_basic_auth_in_the_url_or_as_a_tuple(base, convention):
    host = base.removeprefix("http://")
    for couch in (
        Couch(f"http://admin:{PASSWORD}@{host}"),
        Couch(base, auth=("admin", PASSWORD)),
    ):
        me = call(convention, lambda couch=couch, **kw: couch.session(**kw))
        assert me.userCtx.name == "admin"
        assert "_admin" in me.userCtx.roles
        assert me.info.authenticated == "default"


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_cookie_session_logs_in_and_then_uses_the_cookie(base, convention):
    couch = Couch(base, auth=("admin", PASSWORD), session=True)
    me = call(convention, lambda **kw: couch.session(**kw))
    assert me.userCtx.name == "admin"
    assert me.info.authenticated == "cookie"
    assert "_users" in call(convention, lambda **kw: couch.all_dbs(**kw))


@pytest.mark.parametrize("convention", CONVENTIONS)
@pytest.mark.parametrize("session", [False, True], ids=["basic", "cookie"])
def test_a_wrong_password_raises_unauthorized(base, user, convention, session):
    # a throwaway user, never the admin: CouchDB 3.4 locks an account after 5 failures
    name, right = user
    couch = Couch(base, auth=(name, "not-" + right), session=session)
    with pytest.raises(Unauthorized) as caught:
        call(convention, lambda **kw: couch.config("couchdb", **kw))
    assert right not in str(caught.value)


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_the_session_is_renewed_after_the_server_forgets_it(server, base, convention):
    couch = Couch(base, auth=("admin", PASSWORD), session=True)
    call(convention, lambda **kw: couch.config("couchdb", **kw))
    server.restart()  # in memory: its session secret, and so every cookie, is gone
    # an admin-only call answers 401 to the stale cookie; corduroy logs in again
    assert "uuid" in call(convention, lambda **kw: couch.config("couchdb", **kw))


def test_session_tells_the_truth_after_the_server_forgets_the_session(server, base):
    couch = Couch(base, auth=("admin", PASSWORD), session=True)
    assert couch.session().info.authenticated == "cookie"
    server.restart()
    # pouchdb-server treats a stale cookie as anonymous (200), not as a 401
    me = couch.session()
    assert me.userCtx.name == "admin"
    assert me.info.authenticated == "cookie"


def test_logout_ends_the_session_and_a_later_call_logs_in_again(base):
    couch = Couch(base, auth=("admin", PASSWORD), session=True)
    assert couch.session().info.authenticated == "cookie"
    couch.logout()
    assert couch.session().userCtx.name == "admin"


@pytest.mark.parametrize("convention", CONVENTIONS)
def test_create_user_and_log_in_as_that_user(base, convention):
    admin = Couch(base, auth=("admin", PASSWORD))
    name = f"user-{uuid.uuid4().hex[:8]}"
    created = call(convention, lambda **kw: admin.create_user(name, USER_PASSWORD, ["staff"], **kw))
    assert created["_id"] == f"org.couchdb.user:{name}"
    assert "password" not in created
    for session in (False, True):
        as_user = Couch(base, auth=(name, USER_PASSWORD), session=session)
        me = call(convention, lambda as_user=as_user, **kw: as_user.session(**kw))
        assert me.userCtx.name == name
        assert me.userCtx.roles == ["staff"]
    with pytest.raises(Unauthorized):  # a fresh user per convention: far below the lockout
        Couch(base, auth=(name, "wrong")).session()


def test_a_user_is_not_an_admin(base, user):
    as_user = Couch(base, auth=user, session=True)
    with pytest.raises(Unauthorized):
        as_user.config("couchdb")


def test_debug_logs_never_contain_passwords_or_cookies(base, user, caplog):
    caplog.set_level(logging.DEBUG)
    host = base.removeprefix("http://")
    couch = Couch(f"http://admin:{PASSWORD}@{host}")
    db = couch.create(f"log-{uuid.uuid4().hex[:8]}")
    try:
        db.save({"_id": "a"})
        db.get("a")
        session = Couch(base, auth=("admin", PASSWORD), session=True)
        session.all_dbs()
        cookie = session._conn._state.headers()[0][1]  # type: ignore[union-attr]
        session.logout()
        Couch(base, auth=user, session=True).session()
        couch.create_user(f"u-{uuid.uuid4().hex[:6]}", USER_PASSWORD)
        with pytest.raises(Unauthorized) as caught:  # a throwaway user's, never the admin's
            Couch(base, auth=(user[0], PASSWORD + "x"), session=True).all_dbs()
        logging.getLogger("corduroy.test").debug("error: %s %r", caught.value, caught.value)
    finally:
        couch.delete(db.name)
    text = caplog.text
    assert "GET" in text  # the transports did log the requests
    for secret in (PASSWORD, USER_PASSWORD, cookie.removeprefix("AuthSession=")):
        assert secret not in text
    assert all(record.name.startswith("corduroy") for record in caplog.records)
