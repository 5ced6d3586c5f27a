"""couchdb3 (``pip install couchdb3``): blocking, on ``httpx``; basic auth like the others."""

from __future__ import annotations

from typing import Any

import common
import couchdb3  # type: ignore[import-not-found]

server: Any
db: Any


def setup(job: common.Job) -> None:
    global server, db
    url, user, password = common.credentials(job["url"])
    server = couchdb3.Server(url, user=user, password=password, auth_method="basic")
    db = server.get(job["db"])


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
    db.bulk_docs(job["big"])
    return 1


def read(job: common.Job) -> int:
    total = 0
    for row in server.get(job["read_db"]).all_docs(include_docs=True).rows:
        total += row.doc["n"]
    return 1


def stream(job: common.Job) -> int:
    """The 100,000-row read: the same code on the bigger database."""
    return read({**job, "read_db": job["stream_db"]})


if __name__ == "__main__":
    common.main(
        "couchdb3",
        {
            "setup": setup,
            "get": get,
            "create": create,
            "batch": batch,
            "read": read,
            "stream": stream,
        },
    )
