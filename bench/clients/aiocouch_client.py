"""aiocouch (``pip install aiocouch``): asyncio, on ``aiohttp``.

Creates use ``Document(db, id, data).save()`` (one PUT) rather than ``db.create``, which
first checks that the id is free (an extra request).
"""

from __future__ import annotations

import asyncio
from typing import Any

import common
from aiocouch import CouchDB, Document  # type: ignore[import-not-found]

couch: Any
db: Any


async def setup(job: common.Job) -> None:
    global couch, db
    url, user, password = common.credentials(job["url"])
    couch = CouchDB(url, user=user, password=password)
    # pouchdb-server answers text/plain unless asked for JSON, and aiohttp refuses to decode
    # that; CouchDB itself needs no such header
    couch._server._http_session.headers["Accept"] = "application/json"
    db = await couch[job["db"]]


async def close(job: common.Job) -> None:
    await couch.close()


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
        await Document(db, f"new{i:05d}", data=common.new_doc(i)).save()
    return job["n"]


async def batch(job: common.Job) -> int:
    async with db.create_docs() as bulk:
        for doc in job["big"]:
            bulk.create(doc["_id"], data=doc)
    return 1


async def read(job: common.Job) -> int:
    total = 0
    source = await couch[job["read_db"]]
    async for doc in source.all_docs.docs():
        total += doc["n"]
    return 1


async def stream(job: common.Job) -> int:
    """The 100,000-row read: the same code on the bigger database."""
    return await read({**job, "read_db": job["stream_db"]})


if __name__ == "__main__":
    common.main(
        "aiocouch",
        {
            "setup": setup,
            "close": close,
            "get": get,
            "create": create,
            "batch": batch,
            "read": read,
            "stream": stream,
            "get32": get32,
        },
    )
