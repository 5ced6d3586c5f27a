"""Building ``Couch`` and ``Database`` objects: urls, defaults, credentials, no I/O."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest

import corduroy
from corduroy import Couch, Database, InvalidInput, Status, TransportError
from corduroy.config import defaults

SECRET = "s3cret-pw"


@pytest.fixture(autouse=True)
def clean_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("COUCHDB_URL", "COUCHDB_USER", "COUCHDB_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    for attr in ("scheme", "host", "port", "url"):
        monkeypatch.setattr(defaults, attr, getattr(defaults, attr))
    defaults.url = None
    defaults.scheme, defaults.host, defaults.port = "http", "127.0.0.1", 5984


def auth_header(couch: Couch) -> tuple[str | None, str | None]:
    """The credentials the couch's connection will send."""
    return couch._conn.url.username, couch._conn.url.password


def test_the_guide_constructor_forms_are_equal() -> None:
    forms = [
        Couch("http://username:pass@"),
        Couch("", auth=("username", "pass")),
        Couch(auth=("username", "pass")),
        Couch("http://username:pass@127.0.0.1:5984/"),
        Couch("http://username:pass@127.0.0.1:5984"),
    ]
    for couch in forms:
        assert repr(couch) == "<Couch 'http://127.0.0.1:5984/'>"
        assert couch.url == "http://127.0.0.1:5984/"
        assert couch == forms[0] and hash(couch) == hash(forms[0])
        assert auth_header(couch) == ("username", "pass")


def test_credentials_matter_for_equality_but_never_show() -> None:
    assert Couch(auth=("a", "1")) != Couch(auth=("a", "2"))
    assert Couch() != Couch(auth=("a", "1"))
    assert Couch() == Couch()


def test_the_default_server() -> None:
    assert repr(Couch()) == "<Couch 'http://127.0.0.1:5984/'>"
    assert repr(Couch(None)) == "<Couch 'http://127.0.0.1:5984/'>"


def test_defaults_host_and_port() -> None:
    defaults.host = "couch.example"
    defaults.port = 6984
    assert repr(Couch()) == "<Couch 'http://couch.example:6984/'>"
    assert repr(Couch("http://u:p@")) == "<Couch 'http://couch.example:6984/'>"
    defaults.scheme = "https"
    assert Couch(auth=("u", "p")).url == "https://couch.example:6984/"


def test_defaults_url_overrides() -> None:
    defaults.url = "http://other:1234/prefix/"
    assert Couch().url == "http://other:1234/prefix/"


def test_a_host_without_a_scheme() -> None:
    assert Couch("db.example:5985").url == "http://db.example:5985/"


def test_couchdb_url_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUCHDB_URL", f"http://admin:{SECRET}@10.0.0.5:5990")
    couch = Couch()
    assert repr(couch) == "<Couch 'http://10.0.0.5:5990/'>"
    assert auth_header(couch) == ("admin", SECRET)
    assert SECRET not in repr(couch) + couch.url


def test_couchdb_user_and_password_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COUCHDB_URL", "http://10.0.0.5:5990/")
    monkeypatch.setenv("COUCHDB_USER", "admin")
    monkeypatch.setenv("COUCHDB_PASSWORD", "p@ss:w/rd")
    couch = Couch()
    assert couch.url == "http://10.0.0.5:5990/"
    assert auth_header(couch) == ("admin", "p@ss:w/rd")
    assert "p@ss" not in repr(couch)


def test_credentials_in_couchdb_url_win_over_the_user_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COUCHDB_URL", "http://inline:pw@10.0.0.5:5990/")
    monkeypatch.setenv("COUCHDB_USER", "other")
    assert auth_header(Couch()) == ("inline", "pw")


def test_explicit_auth_wins_over_the_url() -> None:
    assert auth_header(Couch("http://a:b@h:1/", auth=("c", "d"))) == ("c", "d")


def test_percent_encoded_credentials_are_decoded() -> None:
    assert auth_header(Couch("http://us%40er:p%3Ass@h:1/")) == ("us@er", "p:ss")


@pytest.mark.parametrize("bad", ["ftp://h/", "http://", "file:///etc"])
def test_bad_server_urls_are_refused(bad: str) -> None:
    defaults.url = "http://"  # no fallback host either
    with pytest.raises(InvalidInput):
        Couch(bad)


def test_bad_auth_is_refused() -> None:
    with pytest.raises(InvalidInput):
        Couch(auth="user:pass")  # type: ignore[arg-type]


def test_no_password_in_any_repr() -> None:
    couch = Couch(f"http://admin:{SECRET}@127.0.0.1:5984/")
    db = couch["people"]
    shown = [
        repr(couch),
        str(couch),
        couch.url,
        repr(db),
        db.url,
        repr(couch._conn),
        repr(defaults),
    ]
    assert not [text for text in shown if SECRET in text]


def test_database_by_name_and_by_url() -> None:
    by_name = Database("some_db_name")
    by_url = Database("http://127.0.0.1:5984/some_db_name")
    assert repr(by_name) == repr(by_url) == "<Database 'some_db_name'>"
    assert by_name.name == by_url.name == "some_db_name"
    assert by_name.url == by_url.url == "http://127.0.0.1:5984/some_db_name"
    assert by_name == by_url
    assert by_name.couch is by_url.couch  # one shared Couch per server url


def test_database_on_another_server() -> None:
    db = Database(f"http://admin:{SECRET}@couch.example:5984/people")
    assert repr(db) == "<Database 'people'>"
    assert db.url == "http://couch.example:5984/people"
    assert db.couch.url == "http://couch.example:5984/"
    assert SECRET not in repr(db) + db.url + repr(db.couch)


def test_database_url_with_an_encoded_slash() -> None:
    db = Database("http://127.0.0.1:5984/team%2Fdata")
    assert db.name == "team/data" and repr(db) == "<Database 'team/data'>"
    assert db.url == "http://127.0.0.1:5984/team%2Fdata"


def test_database_under_a_url_prefix() -> None:
    db = Database("https://host.example/couch/people/")
    assert db.name == "people" and db.couch.url == "https://host.example/couch/"


def test_database_from_couch() -> None:
    couch = Couch()
    db = couch["team/data"]
    assert db.couch is couch and couch["team/data"] is db
    assert db.url == "http://127.0.0.1:5984/team%2Fdata"
    assert couch.replicator.name == "_replicator" and couch.users.name == "_users"


@pytest.mark.parametrize("bad", ["", "a\nb", "http://127.0.0.1:5984/"])
def test_bad_database_names_are_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        Database(bad)


@pytest.fixture
def closed_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]  # bound, never listening: connections are refused


def test_constructing_never_connects(closed_port: int) -> None:
    url = f"http://u:{SECRET}@127.0.0.1:{closed_port}/"
    couch = Couch(url)
    db = couch["people"]
    same = Database(url + "people")
    assert repr(db) == repr(same) == "<Database 'people'>"
    with pytest.raises(TransportError) as info:
        db.exists()
    assert SECRET not in str(info.value)
    with pytest.raises(TransportError):
        couch.all_dbs()


def test_a_refused_connection_reaches_the_callback(closed_port: int) -> None:
    db = Couch(f"http://127.0.0.1:{closed_port}/")["people"]
    got: list[tuple[object, Status]] = []

    async def main() -> None:
        await db.get("x", callback=lambda data, status: got.append((data, status)))

    asyncio.run(main())
    ((data, status),) = got
    assert data is None and not status.ok and status.code == 0
    assert status.error is not None and issubclass(status.error, TransportError)


def test_defaults_is_the_public_object() -> None:
    assert corduroy.defaults is defaults
