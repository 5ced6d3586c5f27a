"""The guide's "Change Notifications" section, in Python 3.

    python examples/guide_changes.py [database-url]

``main(db)`` prints what the guide prints. Seqs are opaque strings on CouchDB 2+
(integers on pouchdb-server), so they are printed with ``%s``, not ``%i``.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from corduroy import Database, aio


def main(db: Database) -> None:
    if len(db.changes(limit=1)) == 0:  # an empty database: give it some history
        db.save([{"_id": f"doc{i:03d}", "n": i} for i in range(20)])

    info = db.info()
    print(info.update_seq)
    changes = db.changes()
    print("seq: %s (%i changes)" % (changes.last_seq, len(changes.results)))

    since = changes.results[-6].seq  # a seq from an earlier answer, as the guide's 11500
    changes = db.changes(since=since, limit=5)
    print("seq: %s (%i changes)" % (changes.last_seq, len(changes.results)))

    asyncio.run(listen(aio.Database.wrap(db), since))


async def listen(db: aio.Database, since: Any) -> None:
    """Asynchronous feeds: a listener called as changes arrive, until stopped."""
    seen = asyncio.Event()
    received: list[Any] = []

    def listener(last_seq: Any, changes: list[Any]) -> None:
        received.extend(changes)
        print("%i changes, up to seq %s" % (len(changes), last_seq))
        if len(received) >= 6:
            seen.set()

    feed = db.changes(since=since, feed="continuous", callback=listener)
    await db.save({"_id": "written-while-listening"})
    await asyncio.wait_for(seen.wait(), 30)
    feed.stop()
    print(feed)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "watched"
    database = Database(target)
    if not database.exists():
        database.create()
    main(database)
