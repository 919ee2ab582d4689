"""Soak: a bounded mixed read/write run against one `onemap serve`, minute by minute.

What a command centre's server does all day, compressed: big screens polling the
console, QGIS paging items, map tiles, editors patching cameras, and (when the
routes exist) the hotline submitting events and trackers posting GPS batches.
Beside them the hotline submits events (POST /api/events, a tenth of them
re-sent tickets), trackers post GPS batches (POST /api/feed/positions) and one
big screen holds the live stream (GET /api/live) open.
Every interval it records the server's memory (RSS of its process tree), its
open files, its PostgreSQL connections, requests, errors and p50/p99 latency, so
a leak, a creeping latency or a connection that is never given back shows as a
trend. The baseline is the run's own first interval.

    scripts/bench.sh soak                      # 30 minutes (the issue's run)
    scripts/bench.sh soak --minutes 5 --interval 30

Figures go to the `soak` section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ogc.servers import Server, free_port  # noqa: E402
from bench.results import write_section  # noqa: E402
from gis_server.settings import get_settings  # noqa: E402

ONEMAP = str(Path(sys.executable).parent / "onemap")
PASSWORD = "soak password long enough"


@dataclass
class Window:
    """What happened in one interval."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.window = Window()

    def add(self, kind: str, seconds: float, ok: bool) -> None:
        with self.lock:
            self.window.latencies.append(seconds)
            self.window.by_kind[kind] = self.window.by_kind.get(kind, 0) + 1
            self.window.errors += 0 if ok else 1

    def take(self) -> Window:
        with self.lock:
            window, self.window = self.window, Window()
        return window


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run([ONEMAP, *args], env=env, input=stdin, capture_output=True, text=True)
    return done.stdout + done.stderr


def _editor_key(env: dict[str, str]) -> str:
    # gis_editor ranks above dispatcher: one key edits cameras, submits events and posts GPS.
    _cli(env, "users", "add", "soak", "--role", "gis_editor", "--password-stdin", stdin=PASSWORD)
    out = _cli(env, "keys", "issue", "--user", "soak", "--name", f"soak-{int(time.time())}")
    match = re.search(r"om_\S+", out)
    if not match:
        raise SystemExit(f"could not issue an API key: {out}")
    return match.group(0)


def _sample(dsn: str) -> dict[str, list]:
    """Ids and places from the database, so every request asks for something real."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT code FROM cameras ORDER BY random() LIMIT 200")
        cameras = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT code FROM grids WHERE valid_to IS NULL ORDER BY random() LIMIT 200")
        grids = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT ST_X(geom), ST_Y(geom) FROM cameras ORDER BY random() LIMIT 200")
        points = cur.fetchall()
        cur.execute(
            "SELECT code, ST_X(geom), ST_Y(geom) FROM vehicles WHERE geom IS NOT NULL "
            "ORDER BY code LIMIT 50"
        )
        vehicles = cur.fetchall()
    conn.close()
    if not cameras or not grids:
        raise SystemExit("the database has no demo data: run `onemap demo` first")
    return {"cameras": cameras, "grids": grids, "points": points, "vehicles": vehicles}


def _tile(lon: float, lat: float, z: int) -> tuple[int, int, int]:
    import math

    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return z, y, x


def _reads(sample: dict[str, list]) -> list[tuple[str, float, object]]:
    """(kind, weight, url maker) of the read mix."""

    def bbox() -> str:
        lon, lat = random.choice(sample["points"])
        return f"{lon - 0.02},{lat - 0.02},{lon + 0.02},{lat + 0.02}"

    def tile(layer: str) -> str:
        lon, lat = random.choice(sample["points"])
        z, y, x = _tile(lon, lat, random.choice((12, 13, 14)))
        return f"/ogc/collections/{layer}/tiles/WebMercatorQuad/{z}/{y}/{x}"

    return [
        ("items", 3, lambda: f"/ogc/collections/cameras/items?limit=100&bbox={bbox()}"),
        ("items", 2, lambda: "/ogc/collections/grids/items?limit=100&offset="
         + str(random.randrange(0, 1200))),
        ("feature", 3, lambda: f"/ogc/collections/grids/items/{random.choice(sample['grids'])}"),
        ("tile", 4, lambda: tile(random.choice(("grids", "cameras", "events")))),
        ("console", 2, lambda: random.choice((
            "/api/console/layers/grids", "/api/console/events", "/api/console/stats/towns"))),
        ("items", 1, lambda: "/ogc/collections/events/items?limit=50&datetime="
         + (dt.date.today() - dt.timedelta(days=random.randrange(0, 60))).isoformat()),
    ]  # fmt: skip


def reader(base: str, mix, rec: Recorder, stop: threading.Event) -> None:  # noqa: ANN001
    kinds = [m for m in mix for _ in range(int(m[1]))]
    with httpx.Client(base_url=base, timeout=30) as client:
        while not stop.is_set():
            kind, _, make = random.choice(kinds)
            started = time.perf_counter()
            try:
                ok = client.get(make()).status_code < 500
            except httpx.HTTPError:
                ok = False
            rec.add(kind, time.perf_counter() - started, ok)


def writer(base: str, key: str, sample, rec: Recorder, stop: threading.Event, rate: float) -> None:  # noqa: ANN001
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/merge-patch+json"}
    n = 0
    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        while not stop.wait(1 / rate):
            n += 1
            camera = random.choice(sample["cameras"])
            body = {"properties": {"name": f"soak {n % 7}"}}
            started = time.perf_counter()
            try:
                r = client.patch(f"/ogc/collections/cameras/items/{camera}", json=body)
                ok = r.status_code < 500
            except httpx.HTTPError:
                ok = False
            rec.add("write", time.perf_counter() - started, ok)


CATEGORIES = ("河道污染", "环境卫生", "市政设施", "占道经营", "噪音扰民", "安全隐患")


def intake(base: str, key: str, sample, rec: Recorder, stop: threading.Event, rate: float,
           prefix: str) -> None:  # fmt: skip  # noqa: ANN001, PLR0913
    """The hotline: one ticket per 1/rate s, a tenth of them re-sent (must return the same event)."""
    sent: list[str] = []
    with httpx.Client(base_url=base, timeout=30, headers={"Authorization": f"Bearer {key}"}) as c:
        while not stop.wait(1 / rate):
            if sent and random.random() < 0.1:
                ext = random.choice(sent)
            else:
                ext = f"{prefix}-{len(sent):07d}"
                sent.append(ext)
            lon, lat = random.choice(sample["points"])
            body = {"source": "hotline_12345", "external_id": ext,
                    "category": random.choice(CATEGORIES), "description": "soak",
                    "location": {"lon": lon, "lat": lat, "crs": "wgs84"},
                    "reporter": {"name": "测试", "phone": "13000000000"}}  # fmt: skip
            started = time.perf_counter()
            try:
                ok = c.post("/api/events", json=body).status_code in (200, 201)
            except httpx.HTTPError:
                ok = False
            rec.add("intake", time.perf_counter() - started, ok)


def feeder(base: str, key: str, sample, rec: Recorder, stop: threading.Event, rate: float) -> None:  # noqa: ANN001, PLR0913
    """A vendor platform: every second a batch of `rate` fixes, vehicles creeping ~5 m/s east."""
    vehicles = [list(v) for v in sample["vehicles"]]
    if not vehicles:
        return
    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
        while not stop.wait(1.0):
            now = dt.datetime.now(dt.UTC)
            batch = []
            for i in range(int(rate)):
                v = vehicles[i % len(vehicles)]
                v[1] += 0.00005
                t = now - dt.timedelta(milliseconds=(int(rate) - i))
                batch.append({"vehicle": v[0], "t": t.isoformat(), "lon": v[1], "lat": v[2],
                              "speed": 18, "heading": 90})  # fmt: skip
            started = time.perf_counter()
            try:
                ok = client.post("/api/feed/positions", json=batch).status_code == 200
            except httpx.HTTPError:
                ok = False
            rec.add("feed", time.perf_counter() - started, ok)


def screen(base: str, counter: dict[str, int], stop: threading.Event) -> None:
    """One big screen on the live stream: counts the messages it is sent."""
    while not stop.is_set():
        try:
            with httpx.Client(base_url=base, timeout=httpx.Timeout(30, read=40)) as client:
                with client.stream("GET", "/api/live") as r:
                    for line in r.iter_lines():
                        if line.startswith("event:"):
                            counter["live"] = counter.get("live", 0) + 1
                        if stop.is_set():
                            return
        except httpx.HTTPError:
            counter["live_reconnects"] = counter.get("live_reconnects", 0) + 1
            stop.wait(1)


def _tickets(dsn: str, prefix: str) -> tuple[int, int]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), count(DISTINCT external_id) FROM events WHERE external_id LIKE %s",
            (prefix + "-%",),
        )
        events, distinct = cur.fetchone()
    conn.close()
    return events, distinct


def _tree_pids(root: int) -> list[int]:
    pids, frontier = [root], [root]
    while frontier:
        pid = frontier.pop()
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            continue
        pids += [int(c) for c in children]
        frontier += [int(c) for c in children]
    return pids


def _rss_mb_and_fds(root: int) -> tuple[float, int]:
    rss, fds = 0, 0
    for pid in _tree_pids(root):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
            rss += int(re.search(r"VmRSS:\s+(\d+)", status).group(1))
            fds += len(os.listdir(f"/proc/{pid}/fd"))
        except (OSError, AttributeError):
            continue
    return rss / 1024, fds


def _pg_connections(dsn: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND application_name LIKE 'onemap%%'"
        )
        n = cur.fetchone()[0]
    conn.close()
    return n


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000


def run(args: argparse.Namespace) -> list[dict]:
    dsn = args.database_url or get_settings().database.dsn
    env = dict(os.environ, DATABASE_URL=dsn)
    key = _editor_key(env)
    sample = _sample(dsn)
    rec, stop, rows = Recorder(), threading.Event(), []
    args.prefix, args.live = f"soak-{int(time.time())}", {}
    port = free_port()
    argv = [ONEMAP, "serve", "--host", "127.0.0.1", "--port", str(port), "--no-access-log"]
    server = Server("soak", argv, port, "/healthz", {"DATABASE_URL": dsn})
    server.start()
    try:
        if not server.wait_healthy(60):
            raise SystemExit(f"onemap serve did not start:\n{server.log_tail()}")
        _load(server, dsn, key, sample, args, rec, stop, rows)
        args.tickets = _tickets(dsn, args.prefix)
    finally:
        stop.set()
        server.stop()
    return rows


def _load(server, dsn, key, sample, args, rec, stop, rows) -> None:  # noqa: ANN001, PLR0913
    """Readers and the writer against `server` until --minutes; one row per --interval."""
    base = server.base_url
    threads = [
        threading.Thread(target=reader, args=(base, _reads(sample), rec, stop), daemon=True)
        for _ in range(args.readers)
    ]
    threads.append(threading.Thread(
        target=writer, args=(base, key, sample, rec, stop, args.write_rate), daemon=True))  # fmt: skip
    if args.intake_rate > 0:
        threads.append(threading.Thread(target=intake, daemon=True, args=(
            base, key, sample, rec, stop, args.intake_rate, args.prefix)))  # fmt: skip
    if args.feed_rate > 0:
        threads.append(threading.Thread(target=feeder, daemon=True, args=(
            base, key, sample, rec, stop, args.feed_rate)))  # fmt: skip
    threads.append(threading.Thread(target=screen, args=(base, args.live, stop), daemon=True))
    for t in threads:
        t.start()
    started = time.monotonic()
    end = started + args.minutes * 60
    while time.monotonic() < end:
        time.sleep(min(args.interval, max(0.0, end - time.monotonic())))
        window = rec.take()
        assert server.proc is not None
        rss, fds = _rss_mb_and_fds(server.proc.pid)
        rows.append({
            "t_min": round((time.monotonic() - started) / 60, 1),
            "requests": len(window.latencies),
            "rps": len(window.latencies) / args.interval,
            "errors": window.errors,
            "p50_ms": _pct(window.latencies, 0.5),
            "p99_ms": _pct(window.latencies, 0.99),
            "rss_mb": rss, "fds": fds, "pg_conns": _pg_connections(dsn),
            "kinds": dict(window.by_kind), "live": args.live.get("live", 0),
        })  # fmt: skip
        print(rows[-1], flush=True)
    stop.set()
    for t in threads:
        t.join(timeout=35)


def _kinds(rows: list[dict]) -> str:
    total: dict[str, int] = {}
    for r in rows:
        for k, n in r["kinds"].items():
            total[k] = total.get(k, 0) + n
    return ", ".join(f"{k} {n:,}" for k, n in sorted(total.items()))


def _loadavg() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def report(rows: list[dict], args: argparse.Namespace) -> str:
    first, last = rows[0], rows[-1]
    head = "| t (min) | requests | req/s | 5xx/errors | p50 ms | p99 ms | RSS MB | fds | PG conns |"
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['t_min']} | {r['requests']:,} | {r['rps']:.0f} | {r['errors']} | "
            f"{r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['rss_mb']:.0f} | {r['fds']} | {r['pg_conns']} |"
        )
    total = sum(r["requests"] for r in rows)
    errors = sum(r["errors"] for r in rows)
    tail = rows[len(rows) // 2 :]
    summary = [
        f"- **Requests**: {total:,} in {args.minutes} min, **{errors} errors** (5xx or no answer).",
        f"- **Memory**: {first['rss_mb']:.0f} MB after the first interval → {last['rss_mb']:.0f} MB "
        f"at the end (×{last['rss_mb'] / first['rss_mb']:.2f}; the baseline is the run's own first "
        "interval, after warm-up of caches).",
        f"- **p99**: {first['p99_ms']:.0f} ms first interval, median of the second half "
        f"{statistics.median(r['p99_ms'] for r in tail):.0f} ms.",
        f"- **PostgreSQL connections**: {min(r['pg_conns'] for r in rows)}–"
        f"{max(r['pg_conns'] for r in rows)} (pools bounded: never growing with time); "
        f"open files {first['fds']} → {last['fds']}.",
        f"- **Dispatch intake**: {args.tickets[1]:,} tickets → {args.tickets[0]:,} events "
        "(re-sent tickets returned the same event: exactly one event per ticket).",
        f"- **Live stream**: one big screen received {args.live.get('live', 0):,} messages, "
        f"{args.live.get('live_reconnects', 0)} reconnects.",
        f"- Requests by kind over the run: {_kinds(rows)}.",
        f"- Machine load average at the end: {_loadavg()} (other work running: figures are "
        "about trends within the run, not absolute speed).",
    ]
    return "\n".join([
        "## Soak: mixed reads and writes on one `onemap serve`",
        "",
        f"Command: `scripts/bench.sh soak --minutes {args.minutes} --interval {args.interval} "
        f"--readers {args.readers} --write-rate {args.write_rate} --intake-rate "
        f"{args.intake_rate} --feed-rate {args.feed_rate}` — {dt.date.today()}, "
        f"{os.cpu_count()} cores; loopback, the load generator on the same machine.",
        "Mix: camera pages by bbox, grid pages, grids by id, MVT tiles z12–14 of grids/cameras/"
        "events, console bodies, events of a day; one editor PATCHing cameras; the hotline "
        "submitting events (10 % re-sent); a tracker platform posting GPS batches; one big "
        "screen on /api/live.",
        "",
        *lines, "", *summary,
    ])  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=30)
    p.add_argument("--interval", type=float, default=60, help="seconds per row")
    p.add_argument("--readers", type=int, default=6)
    p.add_argument("--write-rate", type=float, default=5, help="PATCHes per second")
    p.add_argument("--intake-rate", type=float, default=2, help="events submitted per second")
    p.add_argument("--feed-rate", type=float, default=50, help="GPS fixes posted per second")
    p.add_argument("--database-url", default=None)
    p.add_argument("--no-write", action="store_true", help="print, do not touch RESULTS.md")
    args = p.parse_args(argv)
    rows = run(args)
    md = report(rows, args)
    print(md)
    if not args.no_write:
        write_section("soak", md)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
