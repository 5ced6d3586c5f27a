"""Cookbook: corduroy in plain asyncio.

    python examples/cookbook_asyncio.py [server-url]     (default: COUCHDB_URL)

``corduroy.aio.Couch`` is the typed spelling for async code: its methods are
coroutines (``doc = await db.get(id)`` is a ``Document`` for mypy). ``await``
them, run several at once with ``asyncio.gather``, stream big results with
``async for``, and catch errors with ``try``/``except`` as in blocking code.
"""

from __future__ import annotations

import asyncio
import sys
import uuid

from corduroy import NotFound
from corduroy.aio import Couch


async def main(url: str | None = None) -> None:
    async with Couch(url) as couch:  # closes its connections at the end
        await work(couch)


async def work(couch: Couch) -> None:
    db = await couch.create(f"cookbook-asyncio-{uuid.uuid4().hex[:8]}")
    try:
        # one request per await
        await db.save({"_id": "ollie", "first": "Oliver", "last": "Reeder"})
        ollie = await db.get("ollie")
        print(ollie)

        # errors are raised at the await
        try:
            await db.get("nobody")
        except NotFound as exc:
            print("not found:", exc.reason)

        # many requests at once: gather them (or use a TaskGroup)
        people = [{"_id": f"p{n}", "n": n} for n in range(5)]
        await asyncio.gather(*(db.save(doc) for doc in people))
        docs = await asyncio.gather(*(db.get(f"p{n}") for n in range(5)))
        print(sum(doc.n for doc in docs))

        # a big result, page by page, in constant memory
        ids = [row.id async for row in db.iterview("_all_docs", batch=2)]
        print(ids)

        # a continuous changes feed as an async iterator; breaking out closes it
        feed = db.changes(feed="continuous", since=0)
        async for change in feed:
            if change.id == "p4":
                print("saw", change.id)
                break
    finally:
        await couch.delete(db.name)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
