"""Reading a 100,000-row result: streamed by corduroy, or loaded whole.

The result is ``_all_docs?include_docs=true`` over 100,000 small documents
(about 15 MB; no view index to build, which on pouchdb-server would take over
a minute). Each way of reading it runs in a fresh child process, which reports
the best client CPU time (``time.process_time``: the server's time excluded,
and pouchdb-server needs about 3 s to produce this body) and wall time of three
reads, and the peak RSS the first read added (``VmHWM`` after it minus the
RSS before it):

* ``db.view(stream=True)`` blocking: rows parsed as they arrive, not kept;
* ``db.view()`` blocking: a View, its rows read on first use and kept;
* ``async for`` over ``await db.view(stream=True)``;
* ``db.iterview()`` blocking, 1,000 rows per request;
* ``await db.view()``: rows parsed as they arrive and kept (all 100,000 in memory);
* ``async for`` over ``db.iterview()``;
* baseline: the whole body fetched with ``http.client`` and ``orjson.loads``.

    .venv/bin/python bench/bench_views.py            # starts the embedded server
    COUCHDB_URL=http://admin:pw@host:5984 .venv/bin/python bench/bench_views.py
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import http.client
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote, unquote, urlsplit

import orjson

from corduroy import Couch, Database
from corduroy.testing.server import EmbeddedServer, server_url_from_env

ROWS = 100_000
QUERY = {"include_docs": True}


def populate(db: Database) -> None:
    for start in range(0, ROWS, 10_000):
        db.save(
            [{"_id": f"doc{i:06d}", "n": i, "tag": "x" * 8} for i in range(start, start + 10_000)]
        )


def whole_body(url: str, dbname: str) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    headers = {"Accept": "application/json"}
    if parts.username:
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
    conn.request("GET", f"/{quote(dbname, safe='')}/_all_docs?include_docs=true", None, headers)
    body = conn.getresponse().read()
    conn.close()
    rows = orjson.loads(body)["rows"]
    return sum(1 for row in rows if row["key"])


def streamed(db: Database) -> int:
    return sum(1 for row in db.view("_all_docs", stream=True, **QUERY) if row.key)


def kept(db: Database) -> int:
    view = db.view("_all_docs", **QUERY)
    return sum(1 for row in view if row.key)


def async_streamed(db: Database) -> int:
    async def read() -> int:
        rows = await db.view("_all_docs", stream=True, **QUERY)
        return sum([1 async for row in rows if row.key])

    return asyncio.run(read())


def paged(db: Database) -> int:
    return sum(1 for row in db.iterview("_all_docs", batch=1000, **QUERY) if row.key)


def awaited(db: Database) -> int:
    async def read() -> int:
        view = await db.view("_all_docs", **QUERY)
        return sum(1 for row in view if row.key)

    return asyncio.run(read())


def async_paged(db: Database) -> int:
    async def read() -> int:
        return sum([1 async for row in db.iterview("_all_docs", batch=1000, **QUERY) if row.key])

    return asyncio.run(read())


WAYS: dict[str, tuple[str, Callable[[Database], int]]] = {
    "view": ("db.view(stream=True) blocking", streamed),
    "kept_view": ("db.view() blocking, rows kept", kept),
    "async_stream": ("async for, await db.view(stream=True)", async_streamed),
    "iterview": ("db.iterview() blocking, 1000/page", paged),
    "await_view": ("await db.view(), rows kept", awaited),
    "async_iterview": ("async for db.iterview()", async_paged),
}


def measure(url: str, dbname: str, way: str) -> None:
    """In a child process: time three reads, report the first read's added peak RSS."""
    db = Couch(url)[dbname]
    db.view("_all_docs", limit=1).close()  # connect, import everything
    if way == "orjson":
        run: Callable[[], int] = lambda: whole_body(url, dbname)  # noqa: E731
    else:
        read = WAYS[way][1]
        run = lambda: read(db)  # noqa: E731
    before = _reset_peak()
    cpu, wall = [], []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        count = run()
        cpu.append(time.process_time() - start_cpu)
        wall.append(time.perf_counter() - start)
        if len(cpu) == 1:
            peak = _status_kib("VmHWM")
        assert count == ROWS, count
    print(json.dumps({"cpu": min(cpu), "wall": min(wall), "extra_kib": max(peak - before, 0)}))


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/self/status")


def _reset_peak() -> int:
    """Reset the peak RSS to the current RSS (Linux 4.0+), and return it."""
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    return _status_kib("VmRSS")


def bench(url: str) -> None:
    couch = Couch(url)
    db = couch.create(f"bench-views-{uuid.uuid4().hex[:8]}")
    try:
        print(f"writing {ROWS:,} documents ...", file=sys.stderr)
        populate(db)
        body_size = _body_size(url, db.name)
        results = {}
        for way in ["orjson", *WAYS]:
            child = subprocess.run(
                [sys.executable, __file__, "--measure", way, "--url", url, "--db", db.name],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            results[way] = json.loads(child.stdout.strip().splitlines()[-1])
        base = results["orjson"]["cpu"]
        print(f"\n_all_docs?include_docs=true: {ROWS:,} rows, {body_size / 1e6:.1f} MB")
        print("client CPU (best of 3), wall time (includes the server), peak RSS added\n")
        print(f"{'way':40} {'CPU':>7} {'vs whole':>8} {'wall':>7} {'peak extra RSS':>15}")
        labels = {"orjson": "http.client + orjson.loads (whole body)"}
        labels.update((k, v[0]) for k, v in WAYS.items())
        for way, result in results.items():
            cpu, wall, extra = result["cpu"], result["wall"], result["extra_kib"] / 1024
            print(
                f"{labels[way]:40} {cpu * 1000:5.0f}ms {cpu / base:7.2f}x {wall * 1000:5.0f}ms"
                f" {extra:11.1f} MiB"
            )
    finally:
        couch.delete(db.name)


def _body_size(url: str, dbname: str) -> int:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port)
    headers = {"Accept": "application/json"}
    if parts.username:
        token = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        headers["Authorization"] = "Basic " + base64.b64encode(token.encode()).decode()
    conn.request("GET", f"/{quote(dbname, safe='')}/_all_docs?include_docs=true", None, headers)
    size = len(conn.getresponse().read())
    conn.close()
    return size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        measure(args.url, args.db, args.measure)
        return
    url = server_url_from_env()
    if url is not None:
        bench(url)
        return
    with EmbeddedServer() as server:
        bench(server.url)


if __name__ == "__main__":
    main()
