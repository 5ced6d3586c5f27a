"""corduroy, typed async code: ``corduroy.aio.Couch`` (the same work as ``corduroy-await``).

``corduroy.aio`` wraps the guide's ``Couch``; its methods are coroutines that await the
wrapped call, so this row should match ``corduroy-await``'s.
"""

from __future__ import annotations

import asyncio
import os

import common

from corduroy import aio

couch: aio.Couch
db: aio.Database


async def setup(job: common.Job) -> None:
    global couch, db
    couch = aio.Couch(job["url"], max_connections=int(os.environ.get("MAXC", "10")))
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


async def close(job: common.Job) -> None:
    await couch.aclose()


if __name__ == "__main__":
    common.main(
        "corduroy-aio",
        {"setup": setup, "get": get, "get32": get32, "create": create, "close": close},
    )
