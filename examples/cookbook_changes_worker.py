"""Cookbook: a changes worker that survives restarts.

    python examples/cookbook_changes_worker.py [server-url]

``db.follow(handler, checkpoint)`` calls ``handler(change)`` for every change, in
the order the server sends them (not the write order, on a sharded CouchDB), and
saves how far it got in the ``_local/<checkpoint>`` document. A worker started again
with the same checkpoint goes on where the last one stopped, so a deployment or a
crash loses nothing; but changes handled after the last save (and, on a cluster,
changes replayed after a node failure) come again, so the handler is idempotent:
it keeps a running total of orders in a summary document and counts each order once.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

from corduroy.aio import Couch, Database


class OrderTotals:
    """The handler: adds each new order to the ``totals`` document."""

    def __init__(self, db: Database, expect: int) -> None:
        self.db = db
        self.expect = expect
        self.seen = 0
        self.finished = asyncio.Event()

    async def __call__(self, change: Any) -> None:
        if not change.id.startswith("order-") or change.get("deleted"):
            return
        totals = await self.db.get("totals")
        if change.id in totals.orders:  # handled before: a change may come more than once
            return
        order = await self.db.get(change.id)
        totals.amount += order.amount
        totals.orders.append(order._id)
        await self.db.save(totals)
        self.seen += 1
        if self.seen == self.expect:
            self.finished.set()


async def run_worker(db: Database, expect: int) -> None:
    """Run one worker until it has handled ``expect`` orders, then stop it."""
    handler = OrderTotals(db, expect)
    follower = db.follow(handler, checkpoint="order-totals", every=1)
    await asyncio.wait_for(handler.finished.wait(), 30)
    follower.stop()
    await follower.wait()  # saves the checkpoint
    print(f"worker handled {handler.seen} orders")


async def main(url: str | None = None) -> None:
    async with Couch(url) as couch:
        await work(couch)


async def work(couch: Couch) -> None:
    db = await couch.create(f"cookbook-worker-{uuid.uuid4().hex[:8]}")
    try:
        await db.save({"_id": "totals", "amount": 0, "orders": []})
        await db.save([{"_id": f"order-{n}", "amount": 10 * n} for n in (1, 2, 3)])
        await run_worker(db, expect=3)

        # while no worker runs, more orders arrive; a new worker starts after the checkpoint
        await db.save([{"_id": f"order-{n}", "amount": 10 * n} for n in (4, 5)])
        await run_worker(db, expect=2)

        totals = await db.get("totals")
        print("total:", totals.amount, "from", sorted(totals.orders))
    finally:
        await couch.delete(db.name)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else None))
