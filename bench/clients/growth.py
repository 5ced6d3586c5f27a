"""Growth: ``_all_docs`` streamed (``db.all_docs(stream=True)``) at 1k, 10k, 100k, 1M rows.

Run by ``bench/run.py`` against the replay server, whose ``bench-grow-N`` databases make
their N rows while sending them (pouchdb-server needs minutes to load a million documents).
One process, after a warm-up read of 1,000 rows, measures every size in turn, ``reads``
rounds (so that a busy machine slows all sizes alike); each measurement reports client CPU
per row, wall per row and peak-RSS growth (the kernel's peak reset before it). A
measurement of 1k or 10k rows reads them 100 or 10 times, so that each covers at least
100,000 rows. Prints one JSON line with the medians, per size.

    .bench-venv/bin/python bench/clients/growth.py '{"url": "http://...", "sizes": [1000]}'
"""

from __future__ import annotations

import json
import statistics
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


def measure(couch: Couch, rows: int) -> dict[str, Any]:
    repeat = max(1, 100_000 // rows)
    start = common._start()
    return common._result(start, sum(read(couch, rows) for _ in range(repeat)))


def main() -> None:
    job = json.loads(sys.argv[1])
    couch = Couch(job["url"])
    read(couch, 1000)
    got: dict[int, list[dict[str, Any]]] = {rows: [] for rows in job["sizes"]}
    for _ in range(job.get("reads", 3)):
        for rows in job["sizes"]:
            got[rows].append(measure(couch, rows))
    out = [
        {
            "rows": rows,
            **{k: statistics.median(m[k] for m in runs) for k in ("cpu", "wall", "rss")},
        }
        for rows, runs in got.items()
    ]
    print(json.dumps({"sizes": out}))


if __name__ == "__main__":
    main()
