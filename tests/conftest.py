"""Shared test configuration.

The fixtures (``couchdb_url``, ``couchdb_server``, ``couch``, ``tmp_db``) and the
``real_couchdb`` marker come from the corduroy pytest plugin (``corduroy.testing.plugin``),
which pytest loads through the ``pytest11`` entry point once corduroy is installed
(``make venv``). Set ``COUCHDB_URL`` to run against a real CouchDB instead of the embedded
pouchdb-server.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import pytest

from corduroy import Couch, NotFound

pytest_plugins = ["pytester"]


#: the password of every throwaway user (it is wrong on purpose in the tests that use one)
THROWAWAY_PASSWORD = "Pw-throwaway-5c1e"


@pytest.fixture
def throwaway_user(couch: Couch) -> Iterator[Callable[[], tuple[str, str]]]:
    """Make fresh non-admin users: ``name, password = throwaway_user()``.

    Tests of failed logins use these, never the admin's name: CouchDB 3.4 locks an
    account after 5 failed logins from one address within 5 minutes (then even the
    right password gets 403), which would lock the admin out of the rest of the run.
    Keep each user below 5 failures. The users are deleted afterwards.
    """
    made: list[str] = []

    def make() -> tuple[str, str]:
        name = f"throwaway-{uuid.uuid4().hex[:10]}"
        couch.create_user(name, THROWAWAY_PASSWORD)
        made.append(name)
        return name, THROWAWAY_PASSWORD

    yield make
    for name in made:
        try:
            user = couch.users.get(f"org.couchdb.user:{name}")
            couch.users.delete(user)
        except NotFound:
            pass
