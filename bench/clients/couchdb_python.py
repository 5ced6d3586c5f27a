"""couchdb-python 1.2 (``pip install couchdb``): blocking, on ``http.client``."""

from __future__ import annotations

from typing import Any

import common
import couchdb  # type: ignore[import-not-found]

server: Any
db: Any


def setup(job: common.Job) -> None:
    global server, db
    server = couchdb.Server(job["url"])
    db = server[job["db"]]


def get(job: common.Job) -> int:
    ids = common.get_ids(job)
    for docid in ids:
        db.get(docid)
    return len(ids)


def create(job: common.Job) -> int:
    for i in range(job["n"]):
        db.save({"_id": f"new{i:05d}", **common.new_doc(i)})
    return job["n"]


def batch(job: common.Job) -> int:
    db.update(job["big"])
    return 1


def read(job: common.Job) -> int:
    total = 0
    for row in server[job["read_db"]].view("_all_docs", include_docs=True):
        total += row.doc["n"]
    return 1


def stream(job: common.Job) -> int:
    """The 100,000-row read: the same code on the bigger database."""
    return read({**job, "read_db": job["stream_db"]})


if __name__ == "__main__":
    common.main(
        "couchdb-python",
        {
            "setup": setup,
            "get": get,
            "create": create,
            "batch": batch,
            "read": read,
            "stream": stream,
        },
    )
