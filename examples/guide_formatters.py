"""The guide's "Data Formatters" section, in Python 3.

``setup(db)`` writes the design documents (with ``sync_design``) and the
documents the examples format; ``main(db)`` runs the examples as the guide
writes them (``@relax`` generators, a ``yield`` before each call) and prints::

    text/csv
    Artist,Title,Mood,ID
    Jeff Wayne,War of the Worlds,Stimulating,1978-wotw
    <ul><li>Nicola Murray</li><li>Newcastle</li><li>National Trust</li></ul>
    <ul><li>Steve Fleming 13:00-13:07</li><li>Julius Nicholson 13:30\N{EN DASH}</li></ul>

(The guide leaves out the Content-Type; the show function sets ``text/csv``.
A bollocking still in progress has no end time, hence the lone en dash.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from typing import Any

from corduroy import Couch, Database, relax

Gen = Generator[Any, Any, Any]

RECORDS = {
    "_id": "_design/records",
    "shows": {
        # query values arrive as strings on CouchDB and JSON-parsed on pouchdb-server
        "csv": """function(doc, req) {
  var row = [doc.artist, doc.title, doc.mood, doc._id].join(',');
  var titles = String(req.query.include_titles) === 'true';
  return {headers: {'Content-Type': 'text/csv'},
          body: titles ? 'Artist,Title,Mood,ID\\n' + row : row};
}""",
    },
}

AGENDA = {
    "_id": "_design/agenda",
    "views": {
        # items still "to follow up", by the lower-cased first letter of their name
        "nomfup": {
            "map": "function(doc) { if (doc.nomfup) emit(doc.nomfup[0].toLowerCase(), "
            "doc.nomfup); }"
        },
    },
    "lists": {
        "html": """function(head, req) {
  start({headers: {'Content-Type': 'text/html; charset=utf-8'}});
  send('<ul>');
  var row;
  while ((row = getRow())) { send('<li>' + row.value + '</li>'); }
  send('</ul>');
}""",
    },
}

BOLLOCKINGS = {
    "_id": "_design/bollockings",
    "views": {
        "byday": {
            "map": """function(doc) {
  if (doc.bollocked) {
    var span = doc.end ? doc.start + '-' + doc.end : doc.start + '\\u2013';
    emit([doc.day, doc.start], doc.bollocked + ' ' + span);
  }
}"""
        },
    },
}

DOCS = [
    {"_id": "1978-wotw", "artist": "Jeff Wayne", "title": "War of the Worlds",
     "mood": "Stimulating"},
    {"_id": "nomfup-1", "nomfup": "Nick Hanway"},
    {"_id": "nomfup-2", "nomfup": "National Trust"},
    {"_id": "nomfup-3", "nomfup": "Newcastle"},
    {"_id": "nomfup-4", "nomfup": "Nicola Murray"},
    {"_id": "nomfup-5", "nomfup": "Mannion"},
    {"_id": "nomfup-6", "nomfup": "Olly's phone"},
    {"_id": "b-1", "bollocked": "Steve Fleming", "day": "thursday", "start": "13:00",
     "end": "13:07"},
    {"_id": "b-2", "bollocked": "Julius Nicholson", "day": "thursday", "start": "13:30"},
    {"_id": "b-3", "bollocked": "Ollie Reeder", "day": "friday", "start": "09:00",
     "end": "09:45"},
]  # fmt: skip


def setup(db: Database) -> None:
    """Write the design documents (only if they changed) and the example documents."""
    for ddoc in (RECORDS, AGENDA, BOLLOCKINGS):
        db.sync_design(ddoc)
    for doc in DOCS:
        if db.rev(doc["_id"]) is None:
            db.save(dict(doc))


@relax
def formatting_documents_with_shows(db: Database) -> Gen:
    response = yield db.show("records/csv", "1978-wotw", include_titles=True)
    print(response.headers["Content-Type"])
    print(response.body)


@relax
def formatting_views_with_lists(db: Database) -> Gen:
    response = yield db.list("agenda/html", "nomfup", key="n", limit=3, descending=True)
    print(response.body)

    response = yield db.list(
        "agenda/html", "bollockings/byday", startkey=["thursday"], endkey=["thursday", {}]
    )
    print(response.body)


def main(db: Database, tucker: Database | None = None) -> None:
    """Run the examples: the show on ``db``, the lists on ``tucker`` (default ``db``)."""
    asyncio.run(formatting_documents_with_shows(db))
    asyncio.run(formatting_views_with_lists(tucker or db))


def run(couch: Couch) -> None:
    """What ``make demo`` calls: the guide's databases ``mannion`` and ``tucker``."""
    mannion = couch.db("mannion", create_if_missing=True)
    tucker = couch.db("tucker", create_if_missing=True)
    setup(mannion)
    setup(tucker)
    main(mannion, tucker)
