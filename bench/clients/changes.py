"""Runs ``bench/bench_changes.py`` (the changes-feed delay benchmark) for ``bench/run.py``.

It keeps that benchmark's listeners, writer and pacing, with fewer documents so that three
runs fit in ``make bench`` (3,000 docs per listener; 300 with ``--quick``). Prints one JSON
line: the rows of its table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_changes

FULL_DOCS = 3000
QUICK_DOCS = 300


def main() -> None:
    job = json.loads(sys.argv[1])
    bench_changes.DOCS = QUICK_DOCS if job["quick"] else FULL_DOCS
    url = job["url"]
    bench_changes.run(url, "warm-up", bench_changes.raw_reader)  # not reported
    rows = [
        bench_changes.run(url, "raw http.client reader", bench_changes.raw_reader),
        bench_changes.run(url, "corduroy ChangesFeed (callback)", bench_changes.corduroy_callback),
        bench_changes.run(url, "corduroy blocking iterator", bench_changes.corduroy_iterator),
    ]
    print(
        json.dumps(
            {
                "title": "Changes feed: delay from save acknowledged to listener "
                f"({bench_changes.DOCS:,} docs, batches of {bench_changes.BATCH} every "
                f"{bench_changes.PACE * 1000:.0f} ms; embedded server)",
                "columns": ["received", "rate", "p50", "p99"],
                "rows": rows,
                "caption": "rate in changes/s, p50/p99 delay in ms (bench/bench_changes.py)",
            }
        )
    )


if __name__ == "__main__":
    main()
