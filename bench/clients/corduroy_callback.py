"""corduroy, callback convention on an asyncio loop.

Each request is made from the previous one's callback (``get32``: 32 such chains).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import common

from corduroy import Couch, Database, Status

couch: Couch
db: Database


async def setup(job: common.Job) -> None:
    global couch, db
    # one connection per concurrent request, as the async floor has (the default pool is 10)
    couch = Couch(job["url"], max_connections=job["concurrency"])
    db = couch[job["db"]]


def chains(items: Iterator[Any], width: int, call: Callable[..., Any]) -> asyncio.Future[None]:
    """Run ``call(item, callback=...)`` for every item, ``width`` at a time, from callbacks."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    running = width

    def next_one(data: Any = None, status: Status | None = None) -> None:
        nonlocal running
        if status is not None and not status.ok and not done.done():
            done.set_exception(status.exception or RuntimeError("failed"))
            return
        for item in items:
            call(item, callback=next_one)
            return
        running -= 1
        if running == 0 and not done.done():
            done.set_result(None)

    for _ in range(width):
        next_one()
    return done


async def get(job: common.Job) -> int:
    await chains(iter(common.get_ids(job)), 1, db.get)
    return job["n"]


async def get32(job: common.Job) -> int:
    await chains(iter(common.get_ids(job)), job["concurrency"], db.get)
    return job["n"]


async def create(job: common.Job) -> int:
    docs = ({"_id": f"new{i:05d}", **common.new_doc(i)} for i in range(job["n"]))
    await chains(docs, 1, db.save)
    return job["n"]


async def batch(job: common.Job) -> int:
    await chains(iter([job["big"]]), 1, db.save)
    return 1


async def read(job: common.Job) -> int:
    total = 0

    def got(view: Any, status: Status) -> None:
        nonlocal total
        if status.ok:
            for row in view:
                total += row.doc["n"]

    await chains(
        iter([None]),
        1,
        lambda _, callback: couch[job["read_db"]].all_docs(
            include_docs=True, callback=lambda v, s: (got(v, s), callback(v, s))
        ),
    )
    return 1


async def stream(job: common.Job) -> int:
    """The 100,000-row read: the same code on the bigger database."""
    return await read({**job, "read_db": job["stream_db"]})


if __name__ == "__main__":
    common.main(
        "corduroy-callback",
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
