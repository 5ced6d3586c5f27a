"""corduroy, ``await`` convention: calls made inside a running asyncio loop.

``get`` awaits one request at a time; ``get32`` keeps 32 requests in flight.
"""

from __future__ import annotations

import asyncio

import common

from corduroy import Couch, Database

couch: Couch
db: Database


async def setup(job: common.Job) -> None:
    global couch, db
    # one connection per concurrent request, as the async floor has (the default pool is 10)
    couch = Couch(job["url"], max_connections=job["concurrency"])
    db = couch[job["db"]]


async def get(job: common.Job) -> int:
    ids = common.get_ids(job)
    for docid in ids:
        await db.get(docid)
    return len(ids)


async def get32(job: common.Job) -> int:
    ids = iter(common.get_ids(job))

    async def worker() -> None:
        for docid in ids:
            await db.get(docid)

    await asyncio.gather(*(worker() for _ in range(job["concurrency"])))
    return job["n"]


async def create(job: common.Job) -> int:
    for i in range(job["n"]):
        await db.save({"_id": f"new{i:05d}", **common.new_doc(i)})
    return job["n"]


async def batch(job: common.Job) -> int:
    await db.save(job["big"])
    return 1


async def read(job: common.Job) -> int:
    total = 0
    for row in await couch[job["read_db"]].all_docs(include_docs=True):
        total += row.doc["n"]
    return 1


async def stream(job: common.Job) -> int:
    """The 100,000-row read: the same code on the bigger database."""
    return await read({**job, "read_db": job["stream_db"]})


if __name__ == "__main__":
    common.main(
        "corduroy-await",
        {
            "setup": setup,
            "get": get,
            "create": create,
            "batch": batch,
            "read": read,
            "stream": stream,
            "get32": get32,
        },
    )
