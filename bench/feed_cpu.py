"""CPU per 1,000 live fixes in the feed's ingest, by phase, client and PostgreSQL apart.

    .venv/bin/python bench/feed_cpu.py [--vehicles 20000] [--batch 200] [--rounds 3]
                                       [--note TEXT] [--no-record]

What bench/feed.py's 2,000 msg/s costs, without the broker and the clock: a scratch
database (migrated, V vehicles, a warm-up round so tracks and trips exist), then R
rounds of every vehicle reporting once (JSON bodies as the benchmark publishes them),
parsed by `etl/feed/payload.fixes_of` and ingested in batches of B by `ingest()`.
The day tracks and trips are caught up once per round (`etl/feed/derive.py`, off the
acknowledgement path: reported as a phase, not in the totals). Each phase is timed by wrapping its function: the client's CPU (`time.process_time`)
and the database backend's (utime + stime of its process, /proc, 10 ms ticks:
summed over hundreds of batches). CPU, not wall time: fairer on a loaded machine.
Results: the `feed_cpu` section of bench/RESULTS.md and stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.feed import scratch  # noqa: E402
from bench.results import read_section, write_section  # noqa: E402
from etl.feed import ingest as ingest_mod  # noqa: E402
from etl.feed import store  # noqa: E402
from etl.feed.derive import catch_up_all  # noqa: E402
from etl.feed.ingest import FeedRules, ingest  # noqa: E402
from etl.feed.payload import fixes_of  # noqa: E402
from gis_server.settings import load_settings  # noqa: E402

BEHIND = "tracks+trips behind (catch-up)"  # not in the totals: off the ack path
TICK_MS = 1000.0 / os.sysconf("SC_CLK_TCK")


class Meter:
    """Client and backend CPU per phase."""

    def __init__(self, backend_pid: int) -> None:
        self.stat = f"/proc/{backend_pid}/stat"
        self.client: dict[str, float] = defaultdict(float)
        self.server: dict[str, float] = defaultdict(float)
        self.depth = 0

    def backend_ms(self) -> float:
        fields = Path(self.stat).read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) * TICK_MS

    def wrap(self, owner, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args, **kw):
            c0, s0 = time.process_time(), self.backend_ms()
            try:
                return inner(*args, **kw)
            finally:
                self.client[label] += (time.process_time() - c0) * 1000
                self.server[label] += self.backend_ms() - s0

        setattr(owner, name, timed)


def bodies(vehicles: int, round_no: int, t0: float) -> list[tuple[str, bytes]]:
    rng = np.random.default_rng(1)
    lon = rng.uniform(121.05, 121.55, vehicles) + 0.0003 * round_no
    lat = rng.uniform(31.75, 32.15, vehicles)
    out = []
    for i in range(vehicles):
        body = {
            "vehicle": f"B{i:06d}",
            "t": int((t0 + 10 * round_no + i * 10 / vehicles) * 1000),
            "lon": round(float(lon[i]), 6),
            "lat": round(float(lat[i]), 6),
            "speed": 20,
        }
        out.append((f"onemap/bench/x/B{i:06d}", json.dumps(body).encode()))
    return out


PHASES = [
    (store, "vehicles", "vehicles lookup"),
    (store, "stored_around", "stored/previous fix"),
    (store, "ensure_partitions", "partitions"),
    (store, "write", "COPY + insert + move"),
    (ingest_mod, "update_trips", "trips"),  # (before the derive queue: on the ack path)
    (ingest_mod, "update_tracks", "tracks"),
    (ingest_mod, "day_ends", "track ends"),
    (ingest_mod, "enqueue", "derive queue"),
    (ingest_mod, "notify", "NOTIFY"),
    (ingest_mod.geofences, "judge", "geofences"),
]


def run(args: argparse.Namespace) -> dict:
    settings = load_settings()
    server = settings.database.dsn.rsplit("/", 1)[0] + "/postgres"
    dsn = scratch(server, args.vehicles)
    rules = FeedRules(extent=(121.0, 31.7, 121.6, 32.2))
    t0 = time.time() - 10 * (args.rounds + 2)
    try:
        with psycopg.connect(dsn) as conn:
            pid = conn.info.backend_pid
            warm = bodies(args.vehicles, 0, t0)
            for i in range(0, len(warm), 2000):
                ingest(conn, [f for _t, b in warm[i : i + 2000] for f in fixes_of(b)[0]], rules)
            catch_up_all(conn, rules.trips)
            meter = Meter(pid)
            for owner, name, label in PHASES:
                if hasattr(owner, name):  # (an older checkout has fewer phases)
                    meter.wrap(owner, name, label)
            total_c = total_s = 0.0
            fixes = 0
            for r in range(1, args.rounds + 1):
                messages = bodies(args.vehicles, r, t0)
                for i in range(0, len(messages), args.batch):
                    c0, s0 = time.process_time(), meter.backend_ms()
                    batch = []
                    for topic, body in messages[i : i + args.batch]:
                        batch.extend(fixes_of(body, topic.rsplit("/", 1)[-1])[0])
                    meter.client["JSON parse + checks"] += (time.process_time() - c0) * 1000
                    result = ingest(conn, batch, rules)
                    assert result.stored == len(batch), result.counts()
                    fixes += len(batch)
                    total_c += (time.process_time() - c0) * 1000
                    total_s += meter.backend_ms() - s0
                # the tracks and trips behind, once per round (every vehicle-day once)
                c0, s0 = time.process_time(), meter.backend_ms()
                catch_up_all(conn, rules.trips)
                meter.client[BEHIND] += (time.process_time() - c0) * 1000
                meter.server[BEHIND] += meter.backend_ms() - s0
    finally:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    per_k = 1000.0 / fixes
    phases = {
        label: {
            "client_ms": round(meter.client[label] * per_k, 1),
            "db_ms": round(meter.server[label] * per_k, 1),
        }
        for label in ["JSON parse + checks", *[p[2] for p in PHASES], BEHIND]
    }
    return {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "vehicles": args.vehicles,
        "batch": args.batch,
        "fixes": fixes,
        "client_ms_per_1000": round(total_c * per_k, 1),
        "db_ms_per_1000": round(total_s * per_k, 1),
        "load": round(os.getloadavg()[0], 1),
        "phases": phases,
    }


def record(r: dict, note: str) -> str:
    top = sorted(r["phases"].items(), key=lambda kv: -(kv[1]["client_ms"] + kv[1]["db_ms"]))
    detail = "; ".join(f"{k} {v['client_ms']}+{v['db_ms']}" for k, v in top[:6])
    line = (
        f"| {r['when']} | {r['vehicles']} | {r['batch']} | {r['fixes']} | "
        f"{r['client_ms_per_1000']} | {r['db_ms_per_1000']} | "
        f"{r['client_ms_per_1000'] + r['db_ms_per_1000']:.1f} | {r['load']} | {detail} | {note} |"
    )
    section = read_section("feed_cpu") or ""
    rows = [x for x in section.splitlines() if x.startswith("| 20")]
    intro = (
        "# Live feed CPU per 1,000 fixes (bench/feed_cpu.py)\n\n"
        "Client = the feed process (parse, checks, SQL building), db = its PostgreSQL "
        "backend; ms of CPU per 1,000 fixes; phases as client+db ms, largest first."
    )
    header = (
        "| when | vehicles | batch | fixes | client ms | db ms | total ms | load | "
        "largest phases | note |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    write_section("feed_cpu", f"{intro}\n\n{header}\n" + "\n".join([*rows, line]))
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--note", default="")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    r = run(args)
    print(json.dumps(r, indent=1))
    if not args.no_record:
        print(record(r, args.note))


if __name__ == "__main__":
    main()
