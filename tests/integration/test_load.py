"""Load: one Couch shared by 32 threads (100,000 requests), 200 asyncio tasks (20,000).

No request fails, every answer is the right one, and the process holds the same
open file descriptors before and after (no connection leaks).
"""

from __future__ import annotations

import asyncio
import gc
import os
import threading

import pytest

from corduroy import Couch, Database
from corduroy.http import close_idle_connections

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

THREADS = 32
THREAD_REQUESTS = 100_000
TASKS = 200
TASK_REQUESTS = 20_000
#: every WRITE_EVERY-th request of a worker updates its own document
WRITE_EVERY = 10


def open_fds() -> set[str]:
    """The open file descriptors of this process, with what they point at."""
    gc.collect()  # earlier tests' clients, closing their sockets as they go
    found = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            found.add(f"{fd}->{os.readlink(f'/proc/self/fd/{fd}')}")
        except OSError:  # the descriptor listdir itself used, closed meanwhile
            pass
    return found


@pytest.fixture
def seeded(tmp_db: Database) -> Database:
    tmp_db.save([{"_id": "shared", "n": 42}])
    return tmp_db


def test_threads_share_one_couch(couchdb_url: str, seeded: Database) -> None:
    per_thread = THREAD_REQUESTS // THREADS
    before = open_fds()
    couch = Couch(couchdb_url, session=True)  # one login shared by every thread
    db = couch[seeded.name]
    done = [0] * THREADS
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        mine = {"_id": f"thread-{index}", "count": 0}
        try:
            start.wait()
            for number in range(per_thread):
                if number % WRITE_EVERY == 0:
                    mine["count"] += 1
                    db.save(mine)  # sets the new _rev on ``mine``
                else:
                    assert db.get("shared")["n"] == 42
                done[index] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(done) == per_thread * THREADS == THREAD_REQUESTS
    writes = -(-per_thread // WRITE_EVERY)
    counts = [d["count"] for d in db.get([f"thread-{i}" for i in range(THREADS)])]
    assert counts == [writes] * THREADS  # no write lost, none applied twice
    couch.close()
    assert open_fds() == before


def test_asyncio_tasks_share_one_couch(couchdb_url: str, seeded: Database) -> None:
    per_task = TASK_REQUESTS // TASKS
    before = open_fds()
    couch = Couch(couchdb_url, session=True)
    db = couch[seeded.name]

    async def task(index: int) -> int:
        mine = {"_id": f"task-{index}", "count": 0}
        for number in range(per_task):
            if number % WRITE_EVERY == 0:
                mine["count"] += 1
                await db.save(mine)
            else:
                assert (await db.get("shared"))["n"] == 42
        return per_task

    async def main() -> list[int]:
        try:
            return await asyncio.gather(*(task(i) for i in range(TASKS)))
        finally:
            await close_idle_connections()

    assert sum(asyncio.run(main())) == TASK_REQUESTS
    writes = -(-per_task // WRITE_EVERY)
    counts = [d["count"] for d in db.get([f"task-{i}" for i in range(TASKS)])]
    assert counts == [writes] * TASKS
    couch.close()
    assert open_fds() == before


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_gets_fresh_connections(couchdb_url: str, seeded: Database) -> None:
    import warnings

    couch = Couch(couchdb_url)
    db = couch[seeded.name]
    assert db.get("shared")["n"] == 42  # the parent's pool now holds a connection
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads around
        pid = os.fork()
    if pid == 0:
        try:
            ok = db.get("shared")["n"] == 42 and db.save({"_id": "from-child"}).ok
        except BaseException:
            ok = False
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert db.get("shared")["n"] == 42  # the parent's connection was not disturbed
    assert "from-child" in db
    couch.close()
