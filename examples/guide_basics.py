"""The guide's "Couches & Databases" and "Documents" sections, in Python 3.

Each example is a ``@relax`` generator, written as the guide writes it: every
library call has a ``yield`` in front and errors are raised at the ``yield``.
``main()`` runs them in order on an asyncio loop; ``setup()`` writes the
documents the guide assumes exist (run it first, blocking).
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from corduroy import Conflict, Couch, Database, NotFound, relax

Gen = Generator[Any, Any, None]


def setup(couch: Couch) -> None:
    """Create the databases and documents the examples read (blocking calls)."""
    underlings = couch.db("underlings", create_if_missing=True)
    underlings.save(
        {"_id": "lackey-129", "first": "Oliver", "last": "Reeder", "office": "Richmond Terrace"}
    )
    backbench = couch.db("backbench", create_if_missing=True)
    claire: dict[str, Any] = {"_id": "ballentine", "first": "Claire", "last": "Ballentine"}
    backbench.save(claire)
    for _ in range(7):  # the guide's copy of Claire is at revision 9
        backbench.save(claire)
    claire["highly_regarded"] = True
    backbench.save(claire)
    backbench.save(
        [
            {"_id": "holhurst", "first": "Geoffrey", "last": "Holhurst"},
            {"_id": "swain", "first": "Ben", "last": "Swain"},
        ]
    )


@relax
def the_couchdb_server(username: str, password: str) -> Gen:
    # Three equivalent ways to name the default server with credentials.
    couchdb = Couch(f"http://{username}:{password}@")
    print(couchdb)
    couchdb = Couch("", auth=(username, password))
    print(couchdb)
    couchdb = Couch(auth=(username, password))
    print(couchdb)

    couch = Couch(auth=(username, password))
    try:
        mydb = yield couch.db("mine")
    except NotFound:
        mydb = yield couch.create("mine")
    print(mydb)
    mydb = yield couch.db("mine", create_if_missing=True)
    print(mydb)
    db = Database("some_db_name")
    print(db)
    print((yield db.exists()))


@relax
def basic_crud() -> Gen:
    db = Database("underlings")
    ollie = yield db.get("lackey-129")

    print(ollie)
    print("Mr. %(first)s %(last)s can be found at %(office)s." % ollie)

    del ollie.office
    ollie.education = "Oxbridge"
    yield db.save(ollie)

    print(ollie)

    try:
        yield db.delete(ollie)
    except Conflict:
        print("Our doc is stale. Need to refetch and try again.")

    newdoc = {"_id": "lackey-130", "first": "Angela", "last": "Heaney"}
    yield db.save(newdoc)

    print(newdoc["_rev"])

    anon = {"first": "Julius", "last": "Nicholson"}
    yield db.save(anon)

    print(anon["_id"], anon["_rev"])


@relax
def batch_crud() -> Gen:
    db = Database("backbench")
    doc_ids = ["ballentine", "holhurst", "swain"]
    docs = yield db.get(doc_ids)

    print(docs[0])

    claire, geoff, ben = docs

    claire.standing = "not standing"
    geoff._deleted = True
    ben.newsnight = {"paxman": 1, "swain": 0}
    print((yield db.save([claire, geoff, ben])))


def main(username: str, password: str) -> None:
    """Run the examples in order, printing what the guide prints."""
    asyncio.run(the_couchdb_server(username, password))
    asyncio.run(basic_crud())
    asyncio.run(batch_crud())
