"""Continuous-feed benchmark: delivery rate and delay from save to callback.

10,000 documents are written (``_bulk_docs`` batches of ``BATCH``) while a continuous
feed listens. For each document, delay = time the listener got it - time its save
was acknowledged (negative when the feed beat the write's response). Listeners:

* corduroy ``ChangesFeed`` (callback, latency 0) on an asyncio loop;
* corduroy blocking iteration (``for change in db.changes(feed="continuous")``);
* a raw ``http.client`` line reader (the floor: no reconnect logic, no objects).

Each listener gets its own database and its own run of the same writer. Run:
``.venv/bin/python bench/bench_changes.py`` (embedded pouchdb-server, or ``COUCHDB_URL``).
"""

from __future__ import annotations

import asyncio
import base64
import http.client
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from corduroy import Couch
from corduroy.testing.server import EmbeddedServer, server_url_from_env

DOCS = 10_000
BATCH = 10
#: seconds between batches: pouchdb-server's feed falls behind unpaced writes (it then
#: measures the server's backlog, not the client); 10 docs / 30 ms = 333 docs/s
PACE = 0.03

Received = dict[str, float]


def write(url: str, name: str, acked: dict[str, float], started: threading.Event) -> None:
    started.wait()
    db = Couch(url)[name]
    due = time.perf_counter()
    for start in range(0, DOCS, BATCH):
        due += PACE
        pause = due - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        docs = [{"_id": f"d{i:05d}", "i": i} for i in range(start, start + BATCH)]
        db.save(docs)
        now = time.perf_counter()
        for doc in docs:
            acked[doc["_id"]] = now


def corduroy_callback(
    url: str, name: str, got: Received, ready: threading.Event, since: Any = "now"
) -> None:
    async def main() -> None:
        done = asyncio.Event()

        def listener(last_seq: Any, changes: list[Any]) -> None:
            now = time.perf_counter()
            for change in changes:
                got[change.id] = now
            if len(got) >= DOCS:
                done.set()

        feed = Couch(url)[name].changes(
            feed="continuous", since=since, latency=0, callback=listener
        )
        await asyncio.sleep(0.3)  # connected and listening
        ready.set()
        await asyncio.wait_for(done.wait(), 300)
        feed.stop()
        await feed.wait()

    asyncio.run(main())


def corduroy_iterator(
    url: str, name: str, got: Received, ready: threading.Event, since: Any = "now"
) -> None:
    feed = Couch(url)[name].changes(feed="continuous", since=since)
    threading.Timer(0.3, ready.set).start()
    for change in feed:
        got[change.id] = time.perf_counter()
        if len(got) >= DOCS:
            break


def raw_reader(
    url: str, name: str, got: Received, ready: threading.Event, since: Any = "now"
) -> None:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Accept": "application/json"}
    if parts.username:
        token = base64.b64encode(f"{parts.username}:{parts.password}".encode()).decode()
        headers["Authorization"] = "Basic " + token
    conn.request(
        "GET", f"/{name}/_changes?feed=continuous&since={since}&heartbeat=10000", headers=headers
    )
    response = conn.getresponse()
    threading.Timer(0.3, ready.set).start()
    while len(got) < DOCS:
        line = response.readline()
        if not line:
            break
        line = line.strip()
        if line:
            row = json.loads(line)
            if "id" in row:
                got[row["id"]] = time.perf_counter()
    conn.close()


def run(url: str, label: str, reader: Callable[..., None]) -> dict[str, Any]:
    couch = Couch(url)
    name = f"bench-changes-{label.split()[0].lower()}-{int(time.time() * 1000) % 10**8}"
    couch.create(name)
    acked: dict[str, float] = {}
    got: Received = {}
    ready = threading.Event()
    writer = threading.Thread(target=write, args=(url, name, acked, ready))
    writer.start()
    began = time.perf_counter()
    reader(url, name, got, ready)
    writer.join()
    ended = max(got.values())
    first = min(acked.values()) - PACE
    # catch-up: the whole backlog from since=0, as fast as the listener takes it
    backlog: Received = {}
    started = time.perf_counter()
    reader(url, name, backlog, threading.Event(), 0)
    catch_up = len(backlog) / (max(backlog.values()) - started)
    couch.delete(name)
    delays = sorted((got[i] - acked[i]) * 1000 for i in acked if i in got)
    q = statistics.quantiles(delays, n=100)
    return {
        "label": label,
        "received": len(got),
        "rate": len(got) / (ended - min(first, began + 0.3)),
        "catch_up": catch_up,
        "p50": q[49],
        "p99": q[98],
    }


def main() -> int:
    url = server_url_from_env()
    server = None
    if url is None:
        server = EmbeddedServer()
        url = server.start()
    try:
        run(url, "warm-up", raw_reader)  # the server's JIT warms up; not reported
        rows = [
            run(url, "raw http.client reader", raw_reader),
            run(url, "corduroy ChangesFeed (callback)", corduroy_callback),
            run(url, "corduroy blocking iterator", corduroy_iterator),
        ]
    finally:
        if server is not None:
            server.stop()
    raw_p99 = rows[0]["p99"]
    print(
        f"{DOCS} docs in _bulk_docs batches of {BATCH} every {PACE * 1000:.0f} ms; "
        "delay = callback time - save acknowledged"
    )
    print(
        "| listener | changes | live changes/s | catch-up changes/s | p50 delay ms "
        "| p99 delay ms | p99 vs raw |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['label']} | {row['received']} | {row['rate']:.0f} "
            f"| {row['catch_up']:.0f} | {row['p50']:.2f} | {row['p99']:.2f} "
            f"| {row['p99'] - raw_p99:+.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
