"""The guide's "Views" section, in Python 3.

``setup(db)`` writes the two design documents and the documents the guide's
views index: 17 employees (``employees/byname``) and 163 dated events
(``chronological/counts``, a ``_count`` reduce over ``[year, month, day]``).
``main(db)`` runs the examples as the guide writes them (``@relax`` generators,
a ``yield`` before each call) and prints::

    <employees/byname: 17/17 rows>
    key:abbott	| id:emp-2c9792a3
    key:coverley	| id:emp-fad5095d
    key:cullen	| id:emp-687e8224
    ... (13 more rows: drake to quinn)
    key:reeder	| id:emp-c110c0a8
    <Document emp-2c9792a3[5932] {first:"Hugh", last:"Abbott", locale:"Unknown"}>
    ['coverley', 'cullen']
    ['2007', '11', '28'] → 1
    ['2007', '11', '29'] → 17
    ['2007', '11', '30'] → 3
    ['2007', '12', '01'] → 92
    ['2007', '12', '02'] → 50
    ['2007', '11'] → 21
    ['2007', '12'] → 142

Python 3 prints lists as ``['coverley', 'cullen']`` where the Python 2 guide
showed ``[u"coverley", u"cullen"]``. The guide's ``["2007","11"] → 20`` is an
arithmetic slip: its own day counts for November add up to 1 + 17 + 3 = 21,
and ``_count`` says so.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from corduroy import Database, relax

Gen = Generator[Any, Any, None]

EMPLOYEES = {
    "_id": "_design/employees",
    "views": {
        "byname": {"map": "function(doc) { if (doc.last) emit(doc.last.toLowerCase(), null); }"},
    },
}

CHRONOLOGICAL = {
    "_id": "_design/chronological",
    "views": {
        "counts": {
            "map": "function(doc) { if (doc.date) emit(doc.date.split('-'), null); }",
            "reduce": "_count",
        },
    },
}

#: (id, first, last, locale); the guide shows abbott, coverley, cullen and reeder's ids
STAFF = [
    ("emp-2c9792a3", "Hugh", "Abbott", "Unknown"),
    ("emp-fad5095d", "Peter", "Coverley", "Westminster"),
    ("emp-687e8224", "Terri", "Cullen", "DoSAC"),
    ("emp-0b1e4a7c", "Mary", "Drake", "Westminster"),
    ("emp-3d0c9b12", "Steve", "Fleming", "Westminster"),
    ("emp-51a7e0d3", "Geoffrey", "Holhurst", "Westminster"),
    ("emp-9e24f6b0", "Jamie", "Jenkins", "Number 10"),
    ("emp-7c3f1a88", "Peter", "Mannion", "DoSAC"),
    ("emp-a4b95e21", "Jamie", "McDonald", "Number 10"),
    ("emp-2f8d6c47", "Nicola", "Murray", "DoSAC"),
    ("emp-e1c07b95", "Ben", "Newton", "Whitehall"),
    ("emp-6b2a9f30", "Julius", "Nicholson", "Number 10"),
    ("emp-c8e4d216", "Emma", "Pearson", "DoSAC"),
    ("emp-4a17b3ec", "Robyn", "Plant", "DoSAC"),
    ("emp-f03e8a59", "Adam", "Pryce", "Number 10"),
    ("emp-8d5c2e7f", "Phil", "Quinn", "DoSAC"),
    ("emp-c110c0a8", "Oliver", "Reeder", "DoSAC"),
]

#: events per day: the guide's group=True output
DAYS = {"2007-11-28": 1, "2007-11-29": 17, "2007-11-30": 3, "2007-12-01": 92, "2007-12-02": 50}


def setup(db: Database) -> None:
    """Write the design documents and the data the examples read (blocking calls)."""
    db.save([dict(EMPLOYEES), dict(CHRONOLOGICAL)])
    staff = [
        {"_id": docid, "first": first, "last": last, "locale": locale}
        for docid, first, last, locale in STAFF
    ]
    # The guide's Hugh Abbott has been edited 5,932 times: store that revision as is.
    abbott, *others = staff
    abbott["_rev"] = "5932-6c1a5e0d2b3f4a9c8e7d6b5a4f3e2d1c"
    db.save([abbott], new_edits=False)
    db.save(others)
    events = [
        {"date": day, "event": f"{day} #{n}"} for day, count in DAYS.items() for n in range(count)
    ]
    db.save(events)


@relax
def querying_a_view(db: Database) -> Gen:
    rows = yield db.view("employees/byname")
    print(rows)
    for row in rows:
        print("key:%s\t| id:%s" % (row.key, row.id))


@relax
def random_access_rows(db: Database) -> Gen:
    yield db.view("employees/byname", key="abbott")
    yield db.view("employees/byname", keys=["coverley", "murray"])
    rows = yield db.view("employees/byname", key="abbott", include_docs=True)
    print(rows[0].doc)


@relax
def ranged_queries(db: Database) -> Gen:
    rows = yield db.view("employees/byname", inclusive_end=False, startkey="c", endkey="d")
    print([row.key for row in rows])


@relax
def reduce_views(db: Database, show_map_rows: bool = False) -> Gen:
    for row in (yield db.view("chronological/counts", reduce=False)):
        if show_map_rows:
            print(row.key)
    for row in (yield db.view("chronological/counts", group=True)):
        print("%(key)s → %(value)i" % row)
    for row in (yield db.view("chronological/counts", group_level=2)):
        print("%(key)s → %(value)i" % row)


def main(db: Database) -> None:
    """Run the examples in the guide's order, each on an asyncio loop."""
    asyncio.run(querying_a_view(db))
    asyncio.run(random_access_rows(db))
    asyncio.run(ranged_queries(db))
    asyncio.run(reduce_views(db))


if __name__ == "__main__":
    import sys
    import uuid

    from corduroy import Couch

    couch = Couch(sys.argv[1]) if len(sys.argv) > 1 else Couch()
    demo = couch.create(f"dosac-{uuid.uuid4().hex[:8]}")
    try:
        setup(demo)
        main(demo)
    finally:
        couch.delete(demo.name)
