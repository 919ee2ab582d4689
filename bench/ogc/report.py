"""Results: the console table, ratios, the issue's floors as PASS/FAIL, and bench/RESULTS.md."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from dataclasses import dataclass, field

from .cases import Case
from .measure import Check, Load, NoDelay
from .zooms import CEILING_S, MAX_ZOOM, TRIES, Sweep

FLOOR = "postgis"
ROWS = ("onemap", "tipg", "pygeoapi", FLOOR)


@dataclass
class Cell:
    """One server (or the floor) on one request."""

    check: Check | None = None
    loads: dict[int, Load] = field(default_factory=dict)  # concurrency -> Load
    skipped: str = ""  # why it was not loaded (not served, timeout …)

    def rps(self, c: int) -> float | None:
        load = self.loads.get(c)
        return load.rps if load and load.requests else None


@dataclass
class Verdict:
    rule: str
    passed: bool | None  # None: cannot tell (missing numbers)

    @property
    def label(self) -> str:
        return {True: "PASS", False: "FAIL", None: "n/a"}[self.passed]


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a and b else None


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}×"


def fmt_rps(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}" if v >= 1 else f"{v:.2f}"


def fmt_ms(v: float | None) -> str:
    if v is None:
        return "-"
    return f"{v:,.0f}" if v >= 100 else f"{v:.1f}"


def verdicts(case: Case, cells: dict[str, Cell], hi: int) -> list[Verdict]:
    """The issue's floors for onemap at concurrency `hi`."""
    empty = Cell()
    one = cells["onemap"].rps(hi)
    tipg = cells.get("tipg", empty).rps(hi)
    floor = cells.get(FLOOR, empty).rps(hi)
    onemap_ok = cells["onemap"].check is not None and cells["onemap"].check.ok

    def judge(rule: str, a: float | None, b: float | None, k: float) -> Verdict:
        if a is None or not onemap_ok:
            return Verdict(rule, False if cells["onemap"].check is not None else None)
        if b is None:
            return Verdict(rule, None)
        return Verdict(rule, a >= k * b)

    if case.kind == "items":
        return [judge("≥ 3× tipg", one, tipg, 3), judge("≥ 0.7× PostGIS", one, floor, 0.7)]
    if case.kind == "item":
        return [judge("≥ 2× tipg", one, tipg, 2)]
    c1 = cells["onemap"].loads.get(1)
    slow = None if c1 is None or not c1.requests or not onemap_ok else c1.max_ms < 1000
    return [
        judge("≥ tipg", one, tipg, 1),
        judge("≥ 0.7× PostGIS", one, floor, 0.7),
        Verdict(
            "no tile > 1 s (c1 max)",
            False if cells["onemap"].check is not None and slow is None else slow,
        ),
    ]


def _cell_note(cell: Cell) -> str:
    parts = []
    if cell.skipped:
        parts.append(cell.skipped)
    if cell.check is not None:
        parts.append(("" if cell.check.ok else "MISMATCH: ") + cell.check.note)
    for c, load in sorted(cell.loads.items()):
        if load.note:
            parts.append(f"c{c}: {load.note}")
    hi = max(cell.loads) if cell.loads else None
    if hi is not None and len(cell.loads[hi].worker_cpu) > 1:
        load = cell.loads[hi]
        total = sum(load.worker_cpu)
        if total > 0.05:
            split = "/".join(f"{100 * v / total:.0f}" for v in load.worker_cpu)
            conns = "/".join(map(str, load.worker_conns)) if load.worker_conns else "?"
            parts.append(f"c{hi} per worker: connections {conns}, CPU {split} %")
    return "; ".join(p for p in parts if p)


def table_rows(
    cases: list[Case], results: dict[str, dict[str, Cell]], conc: list[int]
) -> list[list[str]]:
    lo, hi = min(conc), max(conc)
    rows = []
    for case in cases:
        cells = results.get(case.name)
        if not cells:
            continue
        for server in ROWS:
            cell = cells.get(server)
            if cell is None:
                continue
            l_lo, l_hi = cell.loads.get(lo), cell.loads.get(hi)
            rows.append([
                case.name,
                server if server != FLOOR else "PostGIS floor",
                fmt_rps(cell.rps(lo)),
                fmt_rps(cell.rps(hi)),
                fmt_ms(l_lo.p50_ms if l_lo and l_lo.requests else None),
                fmt_ms(l_hi.p50_ms if l_hi and l_hi.requests else None),
                fmt_ms(l_hi.p99_ms if l_hi and l_hi.requests else None),
                _cell_note(cell),
            ])  # fmt: skip
    return rows


def ratio_rows(cases: list[Case], results: dict[str, dict[str, Cell]], hi: int) -> list[list[str]]:
    rows = []
    for case in cases:
        cells = results.get(case.name)
        if not cells or "onemap" not in cells:
            continue
        one = cells["onemap"].rps(hi)
        get = {s: (cells[s].rps(hi) if s in cells else None) for s in ROWS}
        rows.append([
            case.name,
            fmt_ratio(_ratio(one, get["tipg"])),
            fmt_ratio(_ratio(one, get["pygeoapi"])),
            fmt_ratio(_ratio(one, get[FLOOR])),
            ", ".join(f"{v.rule}: {v.label}" for v in verdicts(case, cells, hi)),
        ])  # fmt: skip
    return rows


HEAD = [
    "request",
    "server",
    "req/s c{lo}",
    "req/s c{hi}",
    "p50 c{lo} ms",
    "p50 c{hi} ms",
    "p99 c{hi} ms",
    "notes",
]
RATIO_HEAD = [
    "request",
    "onemap/tipg",
    "onemap/pygeoapi",
    "onemap/PostGIS floor",
    "issue floors (c{hi})",
]


def text_table(head: list[str], rows: list[list[str]], wrap_last: int = 70) -> str:
    rows = [[r[i] if i < len(r) - 1 else r[i][:wrap_last] for i in range(len(r))] for r in rows]
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(head)
    ]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths]), *map(line, rows)])


def md_table(head: list[str], rows: list[list[str]]) -> str:
    esc = lambda s: s.replace("|", "\\|")  # noqa: E731
    out = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    out += ["| " + " | ".join(esc(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def machine(versions: dict[str, str]) -> list[str]:
    """nproc, memory, CPU model, OS, versions, date."""
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(
            next(ln for ln in open("/proc/meminfo") if ln.startswith("MemTotal")).split()[1]
        )
        mem = f"{mem_kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        mem = "?"
    try:
        wrk = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.splitlines()[0]
    except (OSError, IndexError):
        wrk = "?"
    lines = [
        f"- date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {os.cpu_count()} CPUs (nproc), {mem} RAM, {cpu}; {platform.platform()}",
        f"- wrk: {wrk.strip()}",
    ]
    lines += [f"- {k}: {v}" for k, v in versions.items()]
    return lines


def markdown(
    cases: list[Case],
    results: dict[str, dict[str, Cell]],
    conc: list[int],
    duration: float,
    versions: dict[str, str],
    nodelay: dict[str, NoDelay | str],
    note: str,
    command: str,
    sweeps: dict[str, dict[str, Sweep]] | None = None,
) -> str:
    lo, hi = min(conc), max(conc)
    head = [h.format(lo=lo, hi=hi) for h in HEAD]
    rhead = [h.format(hi=hi) for h in RATIO_HEAD]
    parts = [
        "# OGC API benchmark: onemap vs tipg vs stock pygeoapi vs PostGIS itself",
        "",
        f"_{note}_" if note else "",
        "",
        f"Command: `{command}` (wrk, keep-alive, {duration:g} s per cell, "
        f"concurrency {', '.join(map(str, conc))}; each server with 2 uvicorn workers; "
        "floor = pgbench against the same database). See bench/README.md for what is measured and how.",
        "",
        "## Machine",
        "",
        *machine(versions),
        "",
        "## Requests",
        "",
        md_table(
            ["request", "what", "parameters (from the database)"],
            [[c.name, c.title, c.params] for c in cases],
        ),  # fmt: skip
        "",
        "## Throughput and latency",
        "",
        md_table(head, table_rows(cases, results, conc)),
        "",
        f"## onemap against the others (req/s at concurrency {hi}) and the issue's floors",
        "",
        md_table(rhead, ratio_rows(cases, results, hi)),
        "",
        *(sweep_section(sweeps) if sweeps else []),
        "## TCP_NODELAY check (small keep-alive request, concurrency 1)",
        "",
        *[f"- {name}: {v if isinstance(v, str) else v.describe()}" for name, v in nodelay.items()],
        "",
        "## The issue's numbers (req/s, c8), for reference",
        "",
        md_table(
            ["request", "stock pygeoapi 0.24", "tipg 1.x", "PostGIS itself"],
            [[c.name, *(fmt_rps(v) for v in c.issue)] for c in cases],
        ),  # fmt: skip
        "",
    ]
    return "\n".join(parts)


SWEEP_HEAD = ["layer", "features", "onemap", "tipg", f"no tile over {CEILING_S:g} s (onemap)"]


def sweep_rows(sweeps: dict[str, dict[str, Sweep]]) -> list[list[str]]:
    rows = []
    for layer, by_server in sweeps.items():
        first = next(iter(by_server.values()))
        onemap = by_server.get("onemap")
        verdict = "-" if onemap is None else ("PASS" if onemap.passed else "FAIL")
        rows.append([
            layer, f"{first.rows:,}",
            *(by_server[s].describe() if s in by_server else "-" for s in ("onemap", "tipg")),
            verdict,
        ])  # fmt: skip
    return rows


def sweep_section(sweeps: dict[str, dict[str, Sweep]]) -> list[str]:
    return [
        f"## Slowest tile at any zoom (z0–z{MAX_ZOOM})",
        "",
        f"For every layer and zoom, the WebMercatorQuad tile holding the most features, "
        f"requested {TRIES} times on fresh connections (onemap builds each: no tile cache); "
        "the slowest answer over all zooms, and its zoom. Stock pygeoapi is left out "
        "(its z12 camera tile alone takes seconds).",
        "",
        md_table(SWEEP_HEAD, sweep_rows(sweeps)),
        "",
    ]
