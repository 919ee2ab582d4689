"""Benchmark `onemap import vehicle_positions` against a plain COPY of the same CSV.

    .venv/bin/python bench/gps_import.py [--fixes N] [--vehicles V] [--runs R] [--keep]

Generates N fixes (default 2,000,000) of V vehicles reporting every 10 s to a
CSV, creates a scratch database on the configured server, times the full
import command (parse, checks, dedupe, jumps, partitions, insert, tracks,
trips) and then a bare COPY of the same file into an unindexed table, and
prints fixes/s for both and their ratio, run after run (each in a fresh scratch
database), then medians and the import's phases (from import_log.details).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pandas as pd
import psycopg2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gis_server.settings import load_settings  # noqa: E402
from layers.migrate import upgrade  # noqa: E402

KINDS = ("sanitation", "muck", "sweeper", "patrol_boat")


def generate(path: Path, fixes: int, vehicles: int, seed: int = 7) -> None:
    """A random walk per vehicle at ~25 km/h inside Haimen, one fix every 10 s."""
    rng = np.random.default_rng(seed)
    per = int(np.ceil(fixes / vehicles))
    start = np.datetime64("2024-05-01T06:00:00")
    codes, times, lons, lats = [], [], [], []
    for v in range(vehicles):
        step = rng.normal(0, 0.0004, size=(per, 2))
        walk = np.cumsum(step, axis=0) + [rng.uniform(121.1, 121.45), rng.uniform(31.8, 32.1)]
        walk[:, 0] = np.clip(walk[:, 0], 121.02, 121.58)
        walk[:, 1] = np.clip(walk[:, 1], 31.72, 32.18)
        codes.append(np.full(per, f"V{v:04d}"))
        times.append(start + np.arange(per) * np.timedelta64(10, "s"))
        lons.append(walk[:, 0])
        lats.append(walk[:, 1])
    frame = pd.DataFrame(
        {
            "vehicle_code": np.concatenate(codes)[:fixes],
            "fix_time": pd.to_datetime(np.concatenate(times)[:fixes]).strftime("%Y-%m-%d %H:%M:%S"),
            "lon": np.round(np.concatenate(lons)[:fixes], 6),
            "lat": np.round(np.concatenate(lats)[:fixes], 6),
        }
    )
    frame["speed_kmh"] = np.round(rng.uniform(0, 40, len(frame)), 1)
    frame["heading"] = np.round(rng.uniform(0, 360, len(frame)), 0)
    frame.to_csv(path, index=False)


def _with_db(dsn: str, name: str) -> str:
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def _scratch(server: str, vehicles: int) -> str:
    """A fresh migrated database with the fleet registered; returns its name."""
    name = f"onemap_bench_{secrets.token_hex(3)}"
    admin = psycopg2.connect(server)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    admin.close()
    dsn = _with_db(server, name)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    upgrade("postgresql+psycopg2://" + dsn.split("://", 1)[1])
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO vehicles (code, plate, kind) VALUES (%s, %s, %s)",
            [(f"V{v:04d}", f"苏F{v:05d}", KINDS[v % len(KINDS)]) for v in range(vehicles)],
        )
    return name


def _drop(server: str, name: str) -> None:
    admin = psycopg2.connect(server)
    admin.autocommit = True
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def time_import(dsn: str, csv_path: Path) -> tuple[float, dict[str, float]]:
    """Wall time of the whole command (process start to commit) and its phases."""
    env = dict(os.environ, DATABASE_URL=dsn)
    onemap = Path(sys.executable).parent / "onemap"
    t = time.perf_counter()
    proc = subprocess.run(
        [str(onemap), "import", "vehicle_positions", str(csv_path)],
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - t
    if proc.returncode:
        raise SystemExit(f"import failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}")
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT details->'seconds' FROM import_log ORDER BY id DESC LIMIT 1")
        phases = cur.fetchone()[0] or {}
    return elapsed, phases


def time_copy(dsn: str, csv_path: Path) -> float:
    """A plain COPY of the same file into a bare unindexed table, committed."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE bare_positions (vehicle_code text, fix_time timestamptz, "
            "lon double precision, lat double precision, speed_kmh real, heading real)"
        )
        conn.commit()
        t = time.perf_counter()
        with csv_path.open("rb") as fh:
            cur.copy_expert("COPY bare_positions FROM STDIN WITH (FORMAT csv, HEADER true)", fh)
        conn.commit()
        return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixes", type=int, default=2_000_000)
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3, help="import + COPY pairs; medians shown")
    parser.add_argument("--keep", action="store_true", help="keep the generated CSV")
    args = parser.parse_args()

    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"gps_{args.fixes}_{args.vehicles}.csv"
    if not csv_path.exists():
        t = time.perf_counter()
        generate(csv_path, args.fixes, args.vehicles)
        print(f"generated {args.fixes:,} fixes in {time.perf_counter() - t:.1f} s → {csv_path}")

    server = _with_db(load_settings().database.dsn, "postgres")
    imports, copies, ratios, phases = [], [], [], []
    try:
        for run in range(args.runs):
            name = _scratch(server, args.vehicles)
            try:
                dsn = _with_db(server, name)
                t_import, seconds = time_import(dsn, csv_path)
                t_copy = time_copy(dsn, csv_path)
            finally:
                _drop(server, name)
            imports.append(args.fixes / t_import)
            copies.append(args.fixes / t_copy)
            ratios.append(imports[-1] / copies[-1])
            phases.append(seconds)
            steps = "  ".join(f"{k} {v:.2f}" for k, v in seconds.items())
            print(
                f"run {run + 1}: import {t_import:6.2f} s {imports[-1]:10,.0f}/s   "
                f"COPY {t_copy:5.2f} s {copies[-1]:10,.0f}/s   ratio {ratios[-1]:.2f}   [{steps}]"
            )
    finally:
        if not args.keep:
            csv_path.unlink(missing_ok=True)
    med = statistics.median
    print(f"median of {args.runs}: onemap import vehicle_positions {med(imports):12,.0f} fixes/s")
    print(f"median of {args.runs}: plain COPY (bare table)         {med(copies):12,.0f} fixes/s")
    print(f"median of {args.runs}: ratio import/COPY throughput    {med(ratios):.2f}")
    keys = dict.fromkeys(k for p in phases for k in p)
    print(
        "median phase seconds: "
        + "  ".join(f"{k} {med([p.get(k, 0) for p in phases]):.2f}" for k in keys)
    )


if __name__ == "__main__":
    main()
