"""OGC req/s against 1 vs 2 onemap processes (behind HAProxy), reads on the primary vs the replica.

    .venv/bin/python -m bench.scale [--scale 0.1] [--duration 10] [--connections 8]

Builds the `scripts/cluster.sh` layout under var/bench/scale (a primary with the demo
at --scale, its streaming replica, two `onemap serve` processes, HAProxy), runs wrk
on an items page and a busy z14 tile for: one process (its own port), two behind
HAProxy; first with every read on the primary, then with reads on the replica
(DATABASE_URL_REPLICAS). Writes bench/RESULTS.md section "scale". Everything runs on
this one machine: the database nodes, the apps, HAProxy and wrk share its cores, so
the figures show the overheads and the direction, not a prefecture's capacity.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

import psycopg

from bench.ogc.measure import ensure_wrk, run_wrk
from bench.results import write_section
from gis_server.cli import cluster_stack as stack


def _tile(dsn: str) -> str:
    """The z14 WebMercatorQuad tile of the densest cameras' spot (a tile with features)."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM cameras ORDER BY "
            "(SELECT count(*) FROM cameras c2 WHERE ST_DWithin(c2.geom, cameras.geom, 0.01)) DESC "
            "LIMIT 1"
        ).fetchone()
    lon, lat = row if row else (121.17, 31.9)
    n = 2**14
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return f"/ogc/collections/cameras/tiles/WebMercatorQuad/14/{y}/{x}"


def _measure(
    base: str, cases: dict[str, str], duration: float, connections: int
) -> dict[str, tuple[float, float, int]]:
    out = {}
    for name, path in cases.items():
        load = run_wrk(base + path, connections, duration, timeout=10)
        out[name] = (load.rps, load.p99_ms, load.errors)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--dir", default="var/bench/scale")
    ap.add_argument("--keep", action="store_true", help="leave the data for the next run")
    args = ap.parse_args()
    ensure_wrk()
    # every tile built by PostGIS (where the replica takes load), not served from the
    # process's tile cache; the apps inherit this environment
    os.environ["ONEMAP_OGC__TILE_CACHE_MB"] = "0"
    root = Path(args.dir).resolve()
    layout = stack.Layout(root, pg_port=55451, http_port=8140, scale=args.scale)
    root.mkdir(parents=True, exist_ok=True)
    stack._databases_up(layout)
    rows: list[tuple[str, str, str, tuple[float, float, int], float]] = []
    try:
        for reads in ("primary", "replica"):
            stack.apps_down(layout)
            stack._apps_up(layout, replica_reads=reads == "replica")
            stack._haproxy_up(layout)
            # HAProxy re-checks /healthz each second: both apps in rotation again
            stack._wait(lambda: stack._healthy(layout.http_port), "HAProxy")
            time.sleep(2.5)  # a bench settling (fall 2, rise 1 at 1 s), not a test
            cases = {
                "items cameras limit=100": "/ogc/collections/cameras/items?limit=100",
                "tile cameras z14 (built each time)": _tile(layout.primary_url),
            }
            one = f"http://127.0.0.1:{layout.app_ports()[0]}"
            two = f"http://127.0.0.1:{layout.http_port}"
            for label, base in (("1 process", one), ("2 processes + HAProxy", two)):
                load_before = os.getloadavg()[0]
                for case, result in _measure(base, cases, args.duration, args.connections).items():
                    rows.append((case, label, reads, result, load_before))
    finally:
        stack.down(layout, purge=not args.keep)
    cpus = os.cpu_count()
    lines = [
        f"Scale: OGC req/s, 1 vs 2 onemap processes, reads on the primary vs the streaming "
        f"replica (`python -m bench.scale`, demo scale {args.scale}, wrk -c{args.connections}, "
        f"{args.duration:g} s each, {time.strftime('%Y-%m-%d %H:%M')}).",
        "",
        f"One machine, {cpus} cores, shared with other work while measured (load average "
        "at each run's start in the last column): primary, replica, both apps, HAProxy and "
        "wrk compete for the same cores, so the figures show the overheads and the direction, "
        "not a prefecture's capacity (that needs the processes on their own machines).",
        "",
        "| request | processes | reads on | req/s | p99 ms | errors | load avg |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for case, label, reads, (rps, p99, errors), load in rows:
        lines.append(
            f"| {case} | {label} | {reads} | {rps:.0f} | {p99:.1f} | {errors} | {load:.1f} |"
        )
    md = "\n".join(lines)
    print(md)
    write_section("scale", md)


if __name__ == "__main__":
    main()
