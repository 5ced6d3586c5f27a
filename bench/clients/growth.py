"""Growth: ``_all_docs`` streamed (``db.all_docs(stream=True)``) at 1k, 10k, 100k, 1M rows.

Run by ``bench/run.py`` against the replay server, whose ``bench-grow-N`` databases make
their N rows while sending them (pouchdb-server needs minutes to load a million documents).
Each size is read in a fresh process: one warm-up read of 1,000 rows, then ``reads``
reads, each reporting client CPU per row, wall per row and its peak-RSS growth (the kernel's
peak reset before each read). Prints one JSON line with the medians, per size.

    .bench-venv/bin/python bench/clients/growth.py '{"url": "http://...", "sizes": [1000]}'
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from typing import Any

import common

from corduroy import Couch


def read(couch: Couch, rows: int) -> int:
    total = 0
    for row in couch[f"bench-grow-{rows}"].all_docs(include_docs=True, stream=True):
        total += row.doc["n"]
    assert total == rows * (rows - 1) // 2, total
    return rows


def one_size(url: str, rows: int, reads: int) -> dict[str, Any]:
    couch = Couch(url)
    read(couch, 1000)
    got = []
    for _ in range(reads):
        start = common._start()
        got.append(common._result(start, read(couch, rows)))
    return {
        "rows": rows,
        "cpu": statistics.median(g["cpu"] for g in got),
        "wall": statistics.median(g["wall"] for g in got),
        "rss": statistics.median(g["rss"] for g in got),
    }


def main() -> None:
    job = json.loads(sys.argv[1])
    if "one" in job:
        print(json.dumps(one_size(job["url"], job["one"], job.get("reads", 3))))
        return
    out = []
    for rows in job["sizes"]:
        child = subprocess.run(
            [sys.executable, __file__, json.dumps({**job, "one": rows})],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        out.append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(json.dumps({"sizes": out}))


if __name__ == "__main__":
    main()
