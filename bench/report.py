"""Turn ``bench/run.py``'s raw results into Markdown tables and the targets' verdicts."""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

#: (key in data["extras"], wrapper script in bench/clients, the benchmark it wraps, runs);
#: bench_views already takes the best of 3 reads per way, so it runs once
EXTRAS = [
    ("views", "views.py", "bench_views.py", 1),
    ("changes", "changes.py", "bench_changes.py", 3),
]
SERVER_TITLES = {
    "embedded": "Embedded pouchdb-server (or $COUCHDB_URL)",
    "replay": "Replay server (recorded CouchDB 3.4.3 answers, client-bound)",
}
MIB = 1024 * 1024

Rounds = list[dict[str, dict[str, Any]]]


def _median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def figures(rounds: Rounds, client: str, op: str, base: str | None) -> dict[str, float | None]:
    """Medians over the runs of CPU, wall, RSS growth, and CPU relative to ``base``."""
    cpu, wall, rss, ratio = [], [], [], []
    for results in rounds:
        got = results.get(client, {}).get("results", {}).get(op)
        if got is None:
            continue
        cpu.append(got["cpu"])
        wall.append(got["wall"])
        rss.append(got["rss"])
        ref = results.get(base or "", {}).get("results", {}).get(op) if base else None
        if ref is not None and ref["cpu"] > 0:
            ratio.append(got["cpu"] / ref["cpu"])
    return {
        "cpu": _median(cpu),
        "wall": _median(wall),
        "rss": _median(rss),
        "ratio": _median(ratio),
    }


def _fmt(value: float | None, scale: float, digits: int = 0) -> str:
    return "—" if value is None else f"{value * scale:,.{digits}f}"


def _ratio(value: float | None) -> str:
    return "" if value is None else f" ({value:.2f}x)"


# (op, header, scale for CPU/wall, unit, ratio base)
COLUMNS = [
    ("get", "get", 1e6, "µs", "raw"),
    ("create", "create", 1e6, "µs", "raw"),
    ("batch", "batch save", 1e3, "ms", "raw"),
    ("read", "_all_docs read", 1e3, "ms", "raw"),
    ("stream", "100k-row read", 1e3, "ms", "raw"),
    ("get32", "get, 32 concurrent", 1e6, "µs", "aiocouch"),
]


def server_table(rounds: Rounds, sizes: dict[str, int]) -> list[str]:
    clients = list(rounds[0]) if rounds else []
    head = ["client"]
    for _, title, _, unit, base in COLUMNS:
        head += [f"{title} CPU {unit} (x {base})", f"wall {unit}"]
    head.insert(9, "read peak RSS +MiB")
    head.insert(12, "100k read peak RSS +MiB")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    notes = []
    for client in clients:
        cells = [client]
        for op, _, scale, _, base in COLUMNS:
            got = figures(rounds, client, op, None if client == base else base)
            cells.append(_fmt(got["cpu"], scale) + _ratio(got["ratio"]))
            cells.append(_fmt(got["wall"], scale))
            if op in ("read", "stream"):
                cells.append(_fmt(got["rss"], 1 / MIB, 1))
        lines.append("| " + " | ".join(cells) + " |")
        errors = {r.get(client, {}).get("error") for r in rounds} - {None}
        if errors:
            notes.append(f"- {client}: {'; '.join(sorted(errors))}")
    if notes:
        lines += ["", "Failures (shown as —):", *notes]
    return lines


def extras_lines(extras: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines: list[str] = []
    for key, runs in extras.items():
        ok = [run for run in runs if not run.get("error")]
        if not ok:
            errors = "; ".join(sorted({str(run.get("error")) for run in runs}))
            lines += ["", f"### {key}: not measured ({errors})"]
            continue
        title, columns = ok[0]["title"], ok[0]["columns"]
        lines += [
            "",
            f"### {title}",
            "",
            "| " + " | ".join(["listener/client", *columns]) + " |",
            "|" + "---|" * (len(columns) + 1),
        ]
        for label in [row["label"] for row in ok[0]["rows"]]:
            cells = [label]
            for column in columns:
                values = [
                    row[column]
                    for run in ok
                    for row in run["rows"]
                    if row["label"] == label and row.get(column) is not None
                ]
                value = _median(values)
                cells.append("—" if value is None else f"{value:,.2f}")
            lines.append("| " + " | ".join(cells) + " |")
        if ok[0].get("caption"):
            lines += ["", ok[0]["caption"]]
    return lines


Check = tuple[str, Callable[[dict[str, Any]], tuple[float | None, float]], str]


def _fig(data: dict[str, Any], server: str, client: str, op: str, base: str) -> Any:
    rounds = data["servers"].get(server)
    return figures(rounds, client, op, base) if rounds else {}


def _changes_gap(data: dict[str, Any]) -> float | None:
    runs = [run for run in data["extras"].get("changes", []) if not run.get("error")]
    gaps = []
    for run in runs:
        by = {row["label"]: row for row in run["rows"]}
        raw = by.get("raw http.client reader")
        listeners = [row for label, row in by.items() if label.startswith("corduroy")]
        if raw and listeners:
            gaps.append(max(row["p99"] for row in listeners) - raw["p99"])
    return _median(gaps)


def targets(data: dict[str, Any]) -> list[str]:
    lines = ["| target | server | measured | limit | holds |", "|---|---|---|---|---|"]

    def row(name: str, server: str, value: float | None, limit: float, fmt: str) -> None:
        verdict = "—" if value is None else ("yes" if value <= limit else "**no**")
        shown = "—" if value is None else fmt.format(value)
        lines.append(f"| {name} | {server} | {shown} | {fmt.format(limit)} | {verdict} |")

    for server in data["servers"]:
        for op, limit, title in [
            ("get", 0.7, "gets"),
            ("create", 0.7, "creates"),
            ("batch", 0.5, "batch save"),
            ("read", 0.8, "_all_docs read"),
        ]:
            got = _fig(data, server, "corduroy", op, "raw")
            row(f"corduroy {title} CPU vs raw", server, got.get("ratio"), limit, "{:.2f}x")
        got = _fig(data, server, "corduroy", "read", "raw")
        rss = got.get("rss")
        row(
            "corduroy read peak RSS growth",
            server,
            None if rss is None else rss / MIB,
            10,
            "{:.1f} MiB",
        )
        for client in ("corduroy-await", "corduroy-callback"):
            got = _fig(data, server, client, "get32", "aiocouch")
            row(
                f"{client} 32-concurrent gets CPU vs aiocouch",
                server,
                got.get("ratio"),
                0.5,
                "{:.2f}x",
            )
    row("changes p99 delay above raw reader", "embedded", _changes_gap(data), 20, "{:+.1f} ms")
    return lines


def render(data: dict[str, Any]) -> str:
    sizes = data["sizes"]
    out = [
        f"## corduroy benchmark: median of {data['runs']} run(s)",
        "",
        f"{sizes['n']:,} gets, {sizes['n']:,} creates, a {sizes['batch']:,}-doc batch save, "
        f"{sizes['rows']:,} docs read via _all_docs?include_docs=true (and "
        f"{sizes['stream_rows']:,} docs the same way), {sizes['n']:,} gets "
        f"{sizes['concurrency']} at a time (async clients). CPU = client process time per "
        "operation (per batch / per read); ratios are to the raw http.client + json loop "
        "(get32: to aiocouch) in the same run, median of the per-run ratios.",
    ]
    for server, rounds in data["servers"].items():
        out += ["", f"### {SERVER_TITLES.get(server, server)}", ""]
        out += server_table(rounds, sizes)
    out += extras_lines(data.get("extras", {}))
    out += ["", "### Targets", "", *targets(data), "", f"Machine: {data.get('note', '')}"]
    return "\n".join(out)
