"""Runs ``bench/bench_views.py`` (the 100,000-row streamed read) for ``bench/run.py``.

The same ways of reading, each in a fresh child process through that benchmark's own
``measure`` (best of three reads; peak RSS added by the first), on 100,000 documents
(10,000 with ``--quick``). Prints one JSON line: the rows of its table.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path

BENCH = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BENCH))

import bench_views  # noqa: E402  (bench/, not a package)

from corduroy import Couch  # noqa: E402

CHILD = (
    "import sys; sys.path.insert(0, {bench!r}); import bench_views; "
    "bench_views.ROWS = {rows}; bench_views.measure({url!r}, {db!r}, {way!r})"
)


def main() -> None:
    job = json.loads(sys.argv[1])
    rows = 10_000 if job["quick"] else bench_views.ROWS
    bench_views.ROWS = rows
    couch = Couch(job["url"])
    db = couch.create(f"bench-views-{uuid.uuid4().hex[:8]}")
    labels = {"orjson": "http.client + orjson.loads (whole body)"}
    labels.update((way, label) for way, (label, _) in bench_views.WAYS.items())
    out = []
    try:
        bench_views.populate(db)
        for way in labels:
            code = CHILD.format(bench=str(BENCH), rows=rows, url=job["url"], db=db.name, way=way)
            child = subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True
            )
            got = json.loads(child.stdout.strip().splitlines()[-1])
            out.append(
                {
                    "label": labels[way],
                    "cpu ms": got["cpu"] * 1000,
                    "wall ms": got["wall"] * 1000,
                    "peak RSS +MiB": got["extra_kib"] / 1024,
                }
            )
    finally:
        couch.delete(db.name)
    base = out[0]["cpu ms"]
    for row in out:
        row["x whole"] = row["cpu ms"] / base
    print(
        json.dumps(
            {
                "title": f"Streamed read of {rows:,} rows (bench/bench_views.py; embedded server)",
                "columns": ["cpu ms", "x whole", "wall ms", "peak RSS +MiB"],
                "rows": out,
                "caption": "client CPU and wall: best of 3 reads; peak RSS added by the first read",
            }
        )
    )


if __name__ == "__main__":
    main()
