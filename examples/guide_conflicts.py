"""The guide's "Eventual Consistency" section, in Python 3.

Each example is a ``@relax`` generator written as the guide writes it: every
library call has a ``yield`` in front. ``main(db)`` runs them in order on an
asyncio loop against ``db`` (a fresh, empty database) and prints what the guide
prints::

    <Success: 2 docs updated>
    <Conflict: second>
    pre-merge:  1
    post-merge: 0

(The guide's ``print 'pre-merge: ', n`` puts two spaces before the number;
``print('pre-merge: ', n)`` does the same in Python 3.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from corduroy import Couch, Database, Document, relax

Gen = Generator[Any, Any, Any]


@relax
def the_standard_recipe(db: Database) -> Gen:
    # create a pair of new docs
    docs: list[dict[str, Any]] = [{"_id": "first", "n": 1}, {"_id": "second", "n": 2}]
    conflicts = yield db.save(docs)
    print(conflicts)
    # create a conflict by deleting the rev and re-saving
    del docs[1]["_rev"]
    conflicts = yield db.save(docs)
    print(conflicts)
    return docs


@relax
def resolving_conflicts(db: Database, docs: list[dict[str, Any]]) -> Gen:
    def mergefn(local_doc: Document, server_doc: Document) -> Document:
        # just copy over the rev (a.k.a. not a real strategy)
        local_doc._rev = server_doc._rev
        return local_doc

    conflicts = yield db.save(docs)
    if conflicts.pending:
        print("pre-merge: ", len(conflicts.pending))
        yield conflicts.resolve(mergefn)
        print("post-merge:", len(conflicts.pending))


@relax
def anticipatory_conflict_handling(db: Database, docs: list[dict[str, Any]]) -> Gen:
    def mergefn(local_doc: Document, server_doc: Document) -> Document:
        local_doc._rev = server_doc._rev
        return local_doc

    del docs[1]["_rev"]  # stale again, so there is something to resolve
    yield db.save(docs, merge=mergefn)

    del docs[1]["_rev"]
    yield db.save(docs, force=True)


def main(db: Database) -> None:
    """Run the section's examples in order against ``db`` (fresh and empty)."""
    docs = asyncio.run(the_standard_recipe(db))
    asyncio.run(resolving_conflicts(db, docs))
    asyncio.run(anticipatory_conflict_handling(db, docs))


def run(couch: Couch) -> None:
    """What ``make demo`` calls: ``main`` on database ``eventual``."""
    main(couch.db("eventual", create_if_missing=True))
