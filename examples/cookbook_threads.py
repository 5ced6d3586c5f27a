"""Cookbook: blocking calls from many threads.

    python examples/cookbook_threads.py [server-url]

Outside an event loop every call blocks, and one ``Couch`` (with its
``Database`` objects) may be shared by any number of threads: its connection
pool is thread-safe. Concurrent writers of the same document conflict; a merge
function passed to ``save`` resolves that with the Standard Recipe.
"""

from __future__ import annotations

import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from corduroy import Couch, Database

THREADS = 4
INCREMENTS = 10


def add_one(local: dict[str, Any], server: dict[str, Any]) -> dict[str, Any]:
    """Merge: take the server's copy and apply our change to it again."""
    server["count"] += 1
    return server


def worker(db: Database, name: str) -> int:
    for _ in range(INCREMENTS):
        counter = db.get("counter")
        counter["count"] += 1
        db.save(counter, merge=add_one, rounds=100)  # a conflict re-reads, re-applies
        db.save({"_id": f"{name}-{uuid.uuid4().hex[:6]}", "by": name})
    return INCREMENTS


def main(url: str | None = None) -> None:
    with Couch(url) as couch:  # closes its connections at the end
        work(couch)


def work(couch: Couch) -> None:
    db = couch.create(f"cookbook-threads-{uuid.uuid4().hex[:8]}")
    try:
        db.save({"_id": "counter", "count": 0})
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            futures = [pool.submit(worker, db, f"t{n}") for n in range(THREADS)]
            done = sum(f.result() for f in futures)
        print("increments:", done)
        print("counter:", db.get("counter")["count"])
        print("documents:", len(db))
    finally:
        couch.delete(db.name)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
