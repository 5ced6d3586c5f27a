"""corduroy against every Python CouchDB client: one command, one table.

Each client runs in a fresh process (``bench/clients/<name>.py``) doing the same work: 2,000
gets, 2,000 creates, a 20,000-doc batch save, a read of 20,000 docs through
``_all_docs?include_docs=true`` and, for async clients, 2,000 gets 32 at a time. Figures are
client CPU per operation (``time.process_time``), wall time and the read's peak-RSS growth,
against two servers: the embedded pouchdb-server and ``bench/replay_server.py`` (recorded
CouchDB answers at over 20,000 requests/s, so client differences show in wall time too).
Ratios are to the raw ``http.client`` + ``json`` loop in the same run; each figure is the
median of ``--runs`` runs. The streamed view read and the changes-feed delay come from
``bench/bench_views.py`` and ``bench/bench_changes.py`` when they are there.

    make bench                                  # .bench-venv with the peers, then this
    .bench-venv/bin/python bench/run.py --quick --only corduroy,raw --servers embedded
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import report

from corduroy import Couch
from corduroy.testing.server import EmbeddedServer, server_url_from_env

HERE = Path(__file__).resolve().parent
CLIENTS = {  # name -> script in bench/clients
    "raw": "raw.py",
    "corduroy": "corduroy_blocking.py",
    "corduroy-await": "corduroy_await.py",
    "corduroy-callback": "corduroy_callback.py",
    "couchdb-python": "couchdb_python.py",
    "pycouchdb": "pycouchdb_client.py",
    "couchdb3": "couchdb3_client.py",
    "ibmcloudant": "ibmcloudant_client.py",
    "aiocouch": "aiocouch_client.py",
    "floor": "floor.py",
    "sockfloor": "sockfloor.py",
    "corduroy-aio": "corduroy_aio.py",
}
#: every ratio needs these: the blocking floor (raw) and the async floor
BASES = ("raw", "floor")
#: rows of ``_all_docs`` streamed by the growth benchmark (bench/clients/growth.py)
GROWTH_SIZES = [1_000, 10_000, 100_000, 1_000_000]
OPS = ["read", "stream", "get", "create", "batch", "get32"]
FULL = {"n": 2000, "batch": 20000, "rows": 20000, "stream_rows": 100000, "concurrency": 32}
QUICK = {"n": 200, "batch": 2000, "rows": 2000, "stream_rows": 10000, "concurrency": 32}
TINY = {"n": 20, "batch": 50, "rows": 50, "stream_rows": 100, "concurrency": 4}  # tests
CHILD_TIMEOUT = 600


class ReplayServer:
    """``bench/replay_server.py`` in a subprocess."""

    def __init__(self, rows: int, stream_rows: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "replay_server.py"), "--rows", str(rows),
             "--stream-rows", str(stream_rows)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("READY "):
            self.stop()
            raise RuntimeError(f"replay server did not start: {line!r}")
        self.url = f"http://admin:secret@127.0.0.1:{int(line.split()[1])}/"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def run_client(name: str, job: dict[str, Any]) -> dict[str, Any]:
    """One client in a fresh process; its JSON result (``error`` set if it failed)."""
    script = HERE / "clients" / CLIENTS[name]
    try:
        done = subprocess.run(
            [sys.executable, str(script), json.dumps(job)],
            capture_output=True, text=True, timeout=CHILD_TIMEOUT, cwd=HERE / "clients",
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"client": name, "results": {}, "error": f"timed out after {CHILD_TIMEOUT} s"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"client": name, "results": {}, "error": tail[:300]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def seed(couch: Couch, name: str, count: int, prefix: str = "doc") -> None:
    """A fresh database holding ``count`` docs ``doc00000``... (``doc%05d``)."""
    couch.create(name)
    db = couch[name]
    for start in range(0, count, 5000):
        stop = min(start + 5000, count)
        db.save([{"_id": f"{prefix}{i:05d}", "n": i, "name": "x" * 40} for i in range(start, stop)])


def run_server(
    label: str, url: str, clients: list[str], sizes: dict[str, int], runs: int, live: bool
) -> list[dict[str, dict[str, Any]]]:
    """``runs`` rounds of every client against one server; per round, results by client."""
    couch = Couch(url) if live else None
    tag = uuid.uuid4().hex[:6]
    read_db = f"bench-read-{tag}"
    stream_db = f"bench-stream-{tag}"  # the replay server knows it by this prefix
    if couch is not None:
        print(f"  seeding {sizes['rows']:,} + {sizes['stream_rows']:,} docs", file=sys.stderr)
        seed(couch, read_db, sizes["rows"])
        seed(couch, stream_db, sizes["stream_rows"])
    rounds = []
    try:
        for number in range(runs):
            results: dict[str, dict[str, Any]] = {}
            for name in clients:
                db = f"bench-{tag}-{number}-{name}"
                if couch is not None:
                    seed(couch, db, sizes["n"])
                job = {
                    "url": url,
                    "db": db,
                    "read_db": read_db,
                    "stream_db": stream_db,
                    "ops": OPS,
                    **sizes,
                }
                started = time.perf_counter()
                results[name] = run_client(name, job)
                took = time.perf_counter() - started
                error = results[name].get("error")
                print(
                    f"  [{label} {number + 1}/{runs}] {name:<18} {took:5.1f} s"
                    + (f"  ERROR {error}" if error else ""),
                    file=sys.stderr,
                    flush=True,
                )
                if couch is not None:
                    couch.delete(db)
            rounds.append(results)
    finally:
        if couch is not None:
            couch.delete(read_db)
            couch.delete(stream_db)
    return rounds


def run_extra(script: str, url: str, quick: bool, runs: int) -> list[dict[str, Any]]:
    """``bench/clients/<script>`` wraps another engineer's benchmark; its JSON, per run."""
    out = []
    for number in range(runs):
        job = {"url": url, "quick": quick}
        try:
            done = subprocess.run(
                [sys.executable, str(HERE / "clients" / script), json.dumps(job)],
                capture_output=True, text=True, timeout=CHILD_TIMEOUT, cwd=HERE,
            )  # fmt: skip
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            if lines:
                out.append(json.loads(lines[-1]))
            else:
                tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
                out.append({"error": tail[:300]})
        except subprocess.TimeoutExpired:
            out.append({"error": f"timed out after {CHILD_TIMEOUT} s"})
        print(f"  [{script} {number + 1}/{runs}] done", file=sys.stderr, flush=True)
    return out


def run_growth(sizes: list[int], reads: int) -> dict[str, Any]:
    """``bench/clients/growth.py`` against a replay server that makes the rows as it sends them."""
    replay = ReplayServer(10, 10)
    try:
        job = {"url": replay.url, "sizes": sizes, "reads": reads}
        done = subprocess.run(
            [sys.executable, str(HERE / "clients" / "growth.py"), json.dumps(job)],
            capture_output=True, text=True, timeout=CHILD_TIMEOUT, cwd=HERE / "clients",
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {CHILD_TIMEOUT} s"}
    finally:
        replay.stop()
    print("  [growth] done", file=sys.stderr, flush=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"error": (done.stderr.strip().splitlines() or ["no output"])[-1][:300]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def machine_note() -> str:
    load = os.getloadavg()
    return (
        f"{platform.python_implementation()} {platform.python_version()}, "
        f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}"
        f" (1/5/15 min) at the end of the run"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the counts, one run")
    parser.add_argument("--tiny", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, default=None, help="runs to take the median of")
    parser.add_argument("--only", default="", help="comma-separated clients (default: all)")
    parser.add_argument(
        "--servers",
        default="embedded,replay",
        help="embedded (pouchdb-server or $COUCHDB_URL) and/or replay",
    )
    parser.add_argument(
        "--no-extras",
        action="store_true",
        help="skip the streamed view read and the changes-feed delay",
    )
    parser.add_argument("--no-growth", action="store_true", help="skip the 1k..1M-row growth")
    parser.add_argument("--json", type=Path, help="also write every raw result here")
    args = parser.parse_args()
    sizes = TINY if args.tiny else QUICK if args.quick else FULL
    args.quick = args.quick or args.tiny
    runs = args.runs or (1 if args.quick else 3)
    clients = [c for c in args.only.split(",") if c] or list(CLIENTS)
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown clients {sorted(unknown)}; known: {', '.join(CLIENTS)}")
    for base in reversed(BASES):
        if base not in clients:
            clients.insert(0, base)  # every ratio needs them
    servers = [s for s in args.servers.split(",") if s]

    data: dict[str, Any] = {"sizes": sizes, "runs": runs, "servers": {}, "extras": {}}
    if "replay" in servers:
        replay = ReplayServer(sizes["rows"], sizes["stream_rows"])
        try:
            print("replay server", file=sys.stderr)
            data["servers"]["replay"] = run_server(
                "replay", replay.url, clients, sizes, runs, live=False
            )
        finally:
            replay.stop()
    if not args.no_growth:
        data["growth"] = run_growth(
            GROWTH_SIZES[:2] if args.tiny else GROWTH_SIZES, 1 if args.quick else 3
        )
    if "embedded" in servers or not args.no_extras:
        url = server_url_from_env()
        embedded = None
        if url is None:
            embedded = EmbeddedServer()
            url = embedded.start()
        try:
            if "embedded" in servers:
                print("embedded server", file=sys.stderr)
                data["servers"]["embedded"] = run_server(
                    "embedded", url, clients, sizes, runs, live=True
                )
            if not args.no_extras:
                for key, script, bench_file, extra_runs in report.EXTRAS:
                    if (HERE / bench_file).exists():
                        count = 1 if args.quick else extra_runs
                        data["extras"][key] = run_extra(script, url, args.quick, count)
                    else:
                        data["extras"][key] = [{"error": f"bench/{bench_file} not found"}]
        finally:
            if embedded is not None:
                embedded.stop()
    data["note"] = machine_note()
    if args.json:
        args.json.write_text(json.dumps(data, indent=1))
    print(report.render(data))
    return 0


if __name__ == "__main__":
    sys.exit(main())
