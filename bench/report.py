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


def _result(results: dict[str, dict[str, Any]], client: str, op: str) -> dict[str, Any] | None:
    """One run's figures for ``client`` doing ``op`` (``None`` if it did not)."""
    got: dict[str, Any] | None = results.get(client, {}).get("results", {}).get(op)
    return got


def figures(rounds: Rounds, client: str, op: str, base: str | None) -> dict[str, float | None]:
    """Medians over the runs of CPU, wall, RSS growth, and CPU relative to ``base``."""
    cpu, wall, rss, ratio = [], [], [], []
    for results in rounds:
        got = _result(results, client, op)
        if got is None:
            continue
        cpu.append(got["cpu"])
        wall.append(got["wall"])
        rss.append(got["rss"])
        ref = _result(results, base, op) if base else None
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
    ("get32", "get, 32 concurrent", 1e6, "µs", "floor"),
]
#: the async table: these clients against the async floor
ASYNC_CLIENTS = ["floor", "corduroy-await", "corduroy-aio", "corduroy-callback", "aiocouch"]


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


def wall_rate(rounds: Rounds, client: str, op: str, base: str) -> tuple[float | None, float | None]:
    """Operations per second in wall time (median), and the median per-run ratio to ``base``."""
    rates, ratios = [], []
    for results in rounds:
        got = _result(results, client, op)
        ref = _result(results, base, op)
        if got is None or got["wall"] <= 0:
            continue
        rates.append(1 / got["wall"])
        if ref is not None and ref["wall"] > 0:
            ratios.append(ref["wall"] / got["wall"])
    return _median(rates), _median(ratios)


def async_table(rounds: Rounds) -> list[str]:
    """Awaited get, 32 concurrent gets (CPU, and wall gets/s) as ratios to the async floor."""
    lines = [
        "| client | get CPU µs (x floor) | get, 32 concurrent CPU µs (x floor) "
        "| 32 concurrent gets/s, wall (x floor) |",
        "|---|---|---|---|",
    ]
    for client in [c for c in ASYNC_CLIENTS if any(c in r for r in rounds)]:
        base = None if client == "floor" else "floor"
        cells = [client]
        for op in ("get", "get32"):
            got = figures(rounds, client, op, base)
            cells.append(_fmt(got["cpu"], 1e6) + _ratio(got["ratio"]))
        rate, ratio = wall_rate(rounds, client, "get32", "floor")
        cells.append(_fmt(rate, 1) + ("" if base is None else _ratio(ratio)))
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _get_cpu(results: dict[str, dict[str, Any]], client: str) -> float | None:
    got = _result(results, client, "get")
    return None if got is None else float(got["cpu"])


def above_floor(rounds: Rounds, client: str) -> tuple[float | None, float | None]:
    """A blocking get's CPU above the socket floor's (µs, median), and its median per-run
    ratio to the raw loop's CPU above the same floor: the part a client's own code costs."""
    above, ratios = [], []
    for results in rounds:
        mine, raw, floor = (_get_cpu(results, name) for name in (client, "raw", "sockfloor"))
        if mine is None or floor is None:
            continue
        above.append(mine - floor)
        if raw is not None and raw > floor:
            ratios.append((mine - floor) / (raw - floor))
    return _median(above), _median(ratios)


def floor_table(rounds: Rounds) -> list[str]:
    """Blocking gets against the socket floor (a bare socket + httptools + orjson)."""
    if not any("sockfloor" in r for r in rounds):
        return []
    lines = [
        "| client | get CPU µs | above the socket floor µs (x raw's) |",
        "|---|---|---|",
    ]
    for client in ["sockfloor", "raw", "corduroy", "couchdb-python"]:
        if not any(client in r for r in rounds):
            continue
        cpu = figures(rounds, client, "get", None)["cpu"]
        if client == "sockfloor":
            lines.append(f"| {client} | {_fmt(cpu, 1e6)} | — |")
            continue
        above, ratio = above_floor(rounds, client)
        shown = _fmt(above, 1e6) + ("" if client == "raw" else _ratio(ratio))
        lines.append(f"| {client} | {_fmt(cpu, 1e6)} | {shown} |")
    return lines


def growth_lines(growth: dict[str, Any] | None) -> list[str]:
    if not growth:
        return []
    title = "### Growth: `_all_docs` streamed, db.all_docs(stream=True) blocking (replay server)"
    if growth.get("error"):
        return ["", f"{title}: not measured ({growth['error']})"]
    head = "| rows | CPU µs/row | wall µs/row | peak RSS +MiB |"
    lines = ["", title, "", head, "|---|---|---|---|"]
    for size in growth["sizes"]:
        lines.append(
            f"| {size['rows']:,} | {size['cpu'] * 1e6:.2f} | {size['wall'] * 1e6:.2f} "
            f"| {size['rss'] / MIB:.1f} |"
        )
    lines += [
        "",
        "rows made by the replay server as it sends them (`bench-grow-N`); one process, the "
        "sizes in turn, 3 rounds (1k and 10k read 100 and 10 times per measurement); medians",
    ]
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


def _growth_spread(data: dict[str, Any]) -> tuple[float | None, float | None]:
    """Largest over smallest CPU per row, and the largest peak-RSS growth (MiB)."""
    sizes = (data.get("growth") or {}).get("sizes") or []
    if not sizes:
        return None, None
    cpus = [size["cpu"] for size in sizes]
    return max(cpus) / min(cpus), max(size["rss"] for size in sizes) / MIB


def targets(data: dict[str, Any]) -> list[str]:
    """Issue 19's targets: each a ratio in this run (median of the per-run ratios)."""
    lines = ["| target | server | measured | limit | holds |", "|---|---|---|---|---|"]

    def row(
        name: str, server: str, value: float | None, limit: float, fmt: str, least: bool = False
    ) -> None:
        holds = value is not None and (value >= limit if least else value <= limit)
        verdict = "—" if value is None else ("yes" if holds else "**no**")
        shown = "—" if value is None else fmt.format(value)
        bound = ("≥ " if least else "≤ ") + fmt.format(limit)
        lines.append(f"| {name} | {server} | {shown} | {bound} | {verdict} |")

    for server in data["servers"]:
        for op, limit, title in [
            ("get", 0.5, "get"),
            ("create", 0.5, "create"),
            ("batch", 0.4, "20k batch save"),
            ("read", 0.5, "20k _all_docs read"),
            ("stream", 0.5, "100k-row streamed read"),
        ]:
            got = _fig(data, server, "corduroy", op, "raw")
            row(f"blocking {title} CPU vs raw", server, got.get("ratio"), limit, "{:.2f}x")
        rss = _fig(data, server, "corduroy", "stream", "raw").get("rss")
        mib = None if rss is None else rss / MIB
        row("blocking 100k-row streamed read peak RSS growth", server, mib, 10, "{:.1f} MiB")
        _, above = above_floor(data["servers"][server], "corduroy")
        row("blocking get CPU above the socket floor, vs raw's", server, above, 0.5, "{:.2f}x")
        for client, op, limit, title in [
            ("corduroy-await", "get", 1.0, "awaited get"),
            ("corduroy-await", "get32", 1.3, "32 concurrent awaited gets"),
            ("corduroy-callback", "get32", 1.5, "callback= at 32 concurrent"),
        ]:
            got = _fig(data, server, client, op, "floor")
            row(f"{title} CPU vs async floor", server, got.get("ratio"), limit, "{:.2f}x")
        for op in ("get", "get32"):
            got = _fig(data, server, "corduroy-aio", op, "corduroy-await")
            title = f"corduroy.aio {op} CPU vs awaiting Couch"
            row(title, server, got.get("ratio"), 1.0, "{:.2f}x")
        if server == "replay":
            _, ratio = wall_rate(data["servers"][server], "corduroy-await", "get32", "floor")
            row("32 concurrent awaited gets/s (wall) vs async floor", server, ratio, 0.9,
                "{:.2f}x", least=True)  # fmt: skip
    spread, rss = _growth_spread(data)
    row("growth 1k..1M rows: CPU per row, largest/smallest", "replay", spread, 1.2, "{:.2f}x")
    row("growth 1k..1M rows: largest peak RSS growth", "replay", rss, 10, "{:.1f} MiB")
    row("changes p99 delay above raw reader", "embedded", _changes_gap(data), 5, "{:+.1f} ms")
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
        "(async gets: to the async floor, a bare asyncio.Protocol + httptools + orjson loop "
        "with one connection per worker) in the same run, median of the per-run ratios.",
    ]
    for server, rounds in data["servers"].items():
        out += ["", f"### {SERVER_TITLES.get(server, server)}", ""]
        out += server_table(rounds, sizes)
        out += ["", "Async, to the async floor (asyncio.Protocol + httptools + orjson):", ""]
        out += async_table(rounds)
        floor = floor_table(rounds)
        if floor:
            title = "Blocking get, above the socket floor (a bare socket + httptools + orjson):"
            out += ["", title, "", *floor]
    out += growth_lines(data.get("growth"))
    out += extras_lines(data.get("extras", {}))
    out += ["", "### Targets", "", *targets(data), "", f"Machine: {data.get('note', '')}"]
    return "\n".join(out)
