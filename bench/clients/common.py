"""The harness every client script shares: the workload, the clocks, one JSON line out.

``bench/run.py`` runs each client as ``python bench/clients/<name>.py '<json job>'`` in a
fresh process. The job names the server, the databases and the counts:

    {"url": "http://admin:pw@127.0.0.1:5984/", "db": "bench-x", "read_db": "bench-read",
     "n": 2000, "batch": 20000, "rows": 20000, "concurrency": 32, "ops": ["get", ...]}

``db`` holds ``n`` documents ``doc00000``... to get; creates (``new00000``...) and the batch
(``big000000``...) go there too. ``read_db`` holds the ``rows`` documents that ``read`` reads
through ``_all_docs?include_docs=true``. A client script defines one function per operation it
supports and calls :func:`main`; the result is printed as one JSON line:

    {"client": "raw", "results": {"get": {"cpu": s_per_op, "wall": s_per_op, "count": n}, ...},
     "unsupported": ["get32"], "error": null}

``stream`` reads ``stream_rows`` documents of ``stream_db`` the same way (the 100,000-row
streamed read). Every operation also reports ``rss``: how far the peak RSS rose above the RSS
at its start, in bytes (the kernel's peak is reset before each operation through
``/proc/self/clear_refs``).
"""

from __future__ import annotations

import asyncio
import gc
import json
import resource
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

#: the order operations run in (get32 before the writes: aiocouch's 14 s batch save lets
#: pouchdb-server close its idle keep-alive connection, and aiocouch then fails the next call)
ORDER = ("warmup", "read", "stream", "get", "get32", "create", "batch")
WARMUP = 20

Job = dict[str, Any]
OpFn = Callable[[Job], int]
AsyncOpFn = Callable[[Job], Awaitable[int]]


def credentials(url: str) -> tuple[str, str, str]:
    """``(url without credentials, user, password)``."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    bare = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return bare.rstrip("/"), unquote(parts.username or ""), unquote(parts.password or "")


def get_ids(job: Job) -> list[str]:
    return [f"doc{i:05d}" for i in range(job["n"])]


def new_doc(i: int) -> dict[str, Any]:
    """The body of the i-th create (its id is ``new%05d``)."""
    return {"n": i, "name": "y" * 40}


def big_docs(job: Job) -> list[dict[str, Any]]:
    """The batch save's documents (``job["big"]``, built before the clock starts)."""
    return [{"_id": f"big{i:06d}", "n": i, "name": "z" * 40} for i in range(job["batch"])]


def peak_rss() -> int:
    """Peak resident set size of this process so far, in bytes (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _reset_peak() -> int | None:
    """Reset the kernel's peak RSS to the current RSS (Linux 4.0+); the RSS in bytes, or
    None where that is not possible (then the growth is over the lifetime peak)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return _status_kib("VmRSS") * 1024
    except OSError:
        return None


def _peak_since(rss0: int | None, peak0: int) -> int:
    if rss0 is not None:
        try:
            return max(_status_kib("VmHWM") * 1024 - rss0, 0)
        except OSError:
            pass
    return peak_rss() - peak0


def _start() -> tuple[int, float, float, int | None]:
    gc.collect()
    rss0 = _reset_peak()
    return peak_rss(), time.process_time(), time.perf_counter(), rss0


def _result(start: tuple[int, float, float, int | None], count: int) -> dict[str, Any]:
    wall = time.perf_counter() - start[2]
    cpu = time.process_time() - start[1]
    rss = _peak_since(start[3], start[0])
    count = max(count, 1)
    return {"cpu": cpu / count, "wall": wall / count, "count": count, "rss": rss}


def _run_sync(ops: dict[str, OpFn], job: Job, out: dict[str, Any]) -> None:
    ops.get("warmup", ops["get"])({**job, "n": min(WARMUP, job["n"])})
    for op in ORDER[1:]:
        if op in job["ops"]:
            fn = ops.get(op)
            if fn is None:
                out["unsupported"].append(op)
                continue
            start = _start()
            out["results"][op] = _result(start, fn(job))


async def _run_async(ops: dict[str, AsyncOpFn], job: Job, out: dict[str, Any]) -> None:
    await ops.get("warmup", ops["get"])({**job, "n": min(WARMUP, job["n"])})
    for op in ORDER[1:]:
        if op in job["ops"]:
            fn = ops.get(op)
            if fn is None:
                out["unsupported"].append(op)
                continue
            start = _start()
            out["results"][op] = _result(start, await fn(job))
    close = ops.get("close")
    if close is not None:
        await close(job)


def main(name: str, ops: dict[str, Any]) -> None:
    """Run the job given on the command line with this client's operations; print JSON.

    ``ops`` maps operation names (and optionally ``setup``, ``warmup``, ``close``) to
    functions taking the job and returning how many operations they made. If they are
    coroutine functions, the whole job runs in one event loop.
    """
    job: Job = json.loads(sys.argv[1])
    if "batch" in job["ops"]:
        job["big"] = big_docs(job)  # built before the clock starts
    out: dict[str, Any] = {"client": name, "results": {}, "unsupported": [], "error": None}
    try:
        if asyncio.iscoroutinefunction(ops["get"]):

            async def whole() -> None:
                setup = ops.get("setup")
                if setup is not None:
                    await setup(job)
                await _run_async(ops, job, out)

            asyncio.run(whole())
        else:
            setup = ops.get("setup")
            if setup is not None:
                setup(job)
            _run_sync(ops, job, out)
    except Exception as exc:  # reported in the table, not fatal to the run
        out["error"] = f"{type(exc).__name__}: {exc}"[:300]
        traceback.print_exc(file=sys.stderr)
    out["peak_rss"] = peak_rss()
    print(json.dumps(out))
