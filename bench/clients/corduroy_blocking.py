"""corduroy, blocking convention: no callback, no event loop."""

from __future__ import annotations

import common

from corduroy import Couch, Database

couch: Couch
db: Database


def setup(job: common.Job) -> None:
    global couch, db
    couch = Couch(job["url"])
    db = couch[job["db"]]


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
    db.save(job["big"])
    return 1


def read(job: common.Job, stream: bool = False) -> int:
    total = 0
    # a View reads its rows on first use and keeps them; stream=True hands them out unkept
    for row in couch[job["read_db"]].all_docs(include_docs=True, stream=stream):
        total += row.doc["n"]
    return 1


def stream(job: common.Job) -> int:
    """The 100,000-row read, streamed (``stream=True``): rows decoded a block at a time."""
    return read({**job, "read_db": job["stream_db"]}, stream=True)


if __name__ == "__main__":
    common.main(
        "corduroy",
        {
            "setup": setup,
            "get": get,
            "create": create,
            "batch": batch,
            "read": read,
            "stream": stream,
        },
    )
