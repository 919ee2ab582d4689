"""Benchmark `onemap import vehicle_positions` against a plain COPY of the same CSV.

    .venv/bin/python bench/gps_import.py [--fixes N] [--vehicles V] [--keep]

Generates N fixes (default 2,000,000) of V vehicles reporting every 10 s to a
CSV, creates a scratch database on the configured server, times the full
import command (parse, checks, dedupe, jumps, partitions, insert, tracks,
trips) and then a bare COPY of the same file into an unindexed table, and
prints fixes/s for both and their ratio.
"""

from __future__ import annotations

import argparse
import os
import secrets
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixes", type=int, default=2_000_000)
    parser.add_argument("--vehicles", type=int, default=200)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database and CSV")
    args = parser.parse_args()

    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / f"gps_{args.fixes}.csv"
    if not csv_path.exists():
        t = time.perf_counter()
        generate(csv_path, args.fixes, args.vehicles)
        print(f"generated {args.fixes:,} fixes in {time.perf_counter() - t:.1f} s → {csv_path}")

    settings = load_settings()
    server = _with_db(settings.database.dsn, "postgres")
    name = f"onemap_bench_{secrets.token_hex(3)}"
    admin = psycopg2.connect(server)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    dsn = _with_db(server, name)
    try:
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        upgrade("postgresql+psycopg2://" + dsn.split("://", 1)[1])
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            for v in range(args.vehicles):
                cur.execute(
                    "INSERT INTO vehicles (code, plate, kind) VALUES (%s, %s, %s)",
                    (f"V{v:04d}", f"苏F{v:05d}", KINDS[v % len(KINDS)]),
                )
        env = dict(os.environ, DATABASE_URL=dsn)
        onemap = Path(sys.executable).parent / "onemap"
        t = time.perf_counter()
        proc = subprocess.run(
            [str(onemap), "import", "vehicle_positions", str(csv_path)],
            env=env,
            capture_output=True,
            text=True,
        )
        t_import = time.perf_counter() - t
        print(proc.stdout + proc.stderr)
        if proc.returncode:
            raise SystemExit(f"import failed with exit code {proc.returncode}")

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
            t_copy = time.perf_counter() - t
        rate_import, rate_copy = args.fixes / t_import, args.fixes / t_copy
        print(f"onemap import vehicle_positions: {t_import:7.2f} s  {rate_import:12,.0f} fixes/s")
        print(f"plain COPY (bare table):         {t_copy:7.2f} s  {rate_copy:12,.0f} fixes/s")
        print(f"ratio import/COPY throughput:    {rate_import / rate_copy:.2f}")
    finally:
        if not args.keep:
            admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            csv_path.unlink(missing_ok=True)
        else:
            print(f"kept database {name} and {csv_path}")
        admin.close()


if __name__ == "__main__":
    main()
