"""Eight writers increment the same five documents through ``save(..., merge=...)``.

4 threads (blocking calls) and 4 asyncio tasks (awaited calls) each add 1 to
every one of 5 documents, 50 times. Each writer keeps its own local copies and
never re-reads them: after a save they hold what was written (the merge's
result), so the next increment starts from there. At the end each document
must hold exactly 8 x 50 = 400: no update lost, none applied twice, and no
exception escaped any writer.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from corduroy import ConflictResolution, Database, Document

WRITERS_PER_KIND = 4
ROUNDS = 50
IDS = [f"counter-{i}" for i in range(5)]


def add_one(local: Document, server: Document | None) -> Document:
    """The writer's intent, replayed on the server's copy: one more."""
    assert server is not None
    server.n += 1
    return server


def increment(docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        doc["n"] += 1


@pytest.mark.slow  # about 30 s: pouchdb-server serialises ~2,000 contended requests
def test_eight_writers_lose_no_update(tmp_db: Database) -> None:
    tmp_db.save([{"_id": i, "n": 0} for i in IDS])
    errors: list[BaseException] = []
    leftovers: list[int] = []

    def settle(result: ConflictResolution) -> None:
        # Past the bound a doc stays pending and unwritten; a writer finishes the job.
        while result.pending:
            leftovers.append(len(result.pending))
            assert all(p.error == "conflict" for p in result.pending.values())
            result.resolve(add_one)

    def blocking_writer() -> None:
        try:
            docs = [dict(d) for d in tmp_db.get(IDS)]  # type: ignore[arg-type]
            for _ in range(ROUNDS):
                increment(docs)
                settle(tmp_db.save(docs, merge=add_one))
        except BaseException as exc:  # reported below, so none escapes silently
            errors.append(exc)

    async def async_writer() -> None:
        docs = [dict(d) for d in await tmp_db.get(IDS)]  # type: ignore[arg-type]
        for _ in range(ROUNDS):
            increment(docs)
            result = await tmp_db.save(docs, merge=add_one)
            while result.pending:
                leftovers.append(len(result.pending))
                await result.resolve(add_one)

    async def async_writers() -> None:
        outcomes = await asyncio.gather(
            *(async_writer() for _ in range(WRITERS_PER_KIND)), return_exceptions=True
        )
        errors.extend(o for o in outcomes if isinstance(o, BaseException))

    threads = [threading.Thread(target=blocking_writer) for _ in range(WRITERS_PER_KIND)]
    for thread in threads:
        thread.start()
    asyncio.run(async_writers())
    for thread in threads:
        thread.join()

    assert errors == []
    total = 2 * WRITERS_PER_KIND * ROUNDS
    assert [doc["n"] for doc in tmp_db.get(IDS)] == [total] * len(IDS)  # type: ignore[index]
    print(f"saves left pending past the bound: {len(leftovers)}")
