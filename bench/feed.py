"""Benchmark the live feed: publish → visible as the vehicle's latest position, and loss.

    .venv/bin/python bench/feed.py [--rate 2000] [--seconds 60] [--vehicles 20000]
                                   [--restart broker|db] [--history N] [--derive-every S]
                                   [--keep] [--note TEXT]

Creates a scratch database (migrated, V bench vehicles), starts a private Mosquitto
(queues unlimited), runs a real `onemap feed` process against it,
publishes R messages/s (one QoS 1 fix each, vehicles in turn: each reports every
V/R s) for S seconds, and listens on `onemap_live`. The NOTIFY of a batch is
delivered when its transaction commits, when the fix is visible in `vehicles`:
latency = NOTIFY received − fix time (stamped at publish). Loss = published −
stored (counted in the database after the feed caught up).

`--restart broker` stops the benchmark's Mosquitto (SIGTERM: it saves its
persistence file) half-way and starts it again on the same port; `--restart db`
kills the feed's and its derive process's database connections (pg_terminate_backend)
half-way (the shared PostgreSQL itself is not restarted: other sessions use it). Both must
lose nothing; "recovered s" is the time from the disruption until a fix published
after it was visible within 1 s again. The day tracks and trips are derived behind
the acknowledgements (`etl/feed/derive.py`, every S s in the feed process): "derived
behind s" is how long after the last fix was stored the derive queue was empty.
`--history N` gives every vehicle N fixes earlier today (10 s apart, tracks and trips
built) before the run: the cost must not grow with the day. Results: a row appended to the `feed`
section of bench/RESULTS.md (`bench/results.py`) and stdout.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import paho.mqtt.client as mqtt
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.results import read_section, write_section  # noqa: E402
from gis_server.settings import load_settings  # noqa: E402
from layers.migrate import upgrade  # noqa: E402


def seed_history(dsn: str, vehicles: int, points: int) -> None:
    """N fixes per vehicle today before now, 10 s apart, moving at 20 km/h eastward,
    and their tracks and trips built (the full rebuild): a day already long."""
    from layers.tracks import rebuild_tracks
    from layers.trips import rebuild_trips

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    start = now - dt.timedelta(seconds=10 * (points + 1))
    day = (now + dt.timedelta(hours=8)).date()
    if (start + dt.timedelta(hours=8)).date() != day:
        raise SystemExit(f"--history {points}: that many fixes do not fit in today (Shanghai)")
    with psycopg.connect(dsn) as conn:
        conn.execute("SELECT onemap_ensure_position_partition(%s::date)", (day,))
        conn.execute(
            "INSERT INTO vehicle_positions (vehicle_code, fix_time, speed_kmh, heading, geom) "
            "SELECT 'B' || lpad(v::text, 6, '0'), %(start)s + make_interval(secs => 10 * k), "
            "20, 90, ST_SetSRID(ST_MakePoint(121.05 + (v %% 500) * 0.001 + k * 0.00005, "
            "31.75 + (v / 500) * 0.001), 4326) "
            "FROM generate_series(0, %(v)s - 1) v, generate_series(0, %(n)s - 1) k",
            {"start": start, "v": vehicles, "n": points},
        )
        codes = [f"B{i:06d}" for i in range(vehicles)]
        rebuild_tracks(conn, codes, [day])
        rebuild_trips(conn, codes, [day])
        conn.commit()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def wait_derived(dsn: str, stall_s: float = 600.0) -> float:
    """Seconds until the derive queue is empty (tracks and trips caught up)."""
    t0 = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as conn:
        while conn.execute("SELECT count(*) FROM vehicle_derive_queue").fetchone()[0]:
            if time.monotonic() - t0 > stall_s:
                return float("nan")
            time.sleep(0.5)
    return time.monotonic() - t0


def scratch(server_dsn: str, vehicles: int) -> str:
    name = f"onemap_bench_feed_{secrets.token_hex(3)}"
    with psycopg.connect(server_dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    dsn = server_dsn.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    upgrade("postgresql+psycopg2://" + dsn.split("://", 1)[1])
    with psycopg.connect(dsn) as conn, conn.cursor() as cur:
        with cur.copy("COPY vehicles (code, plate, kind) FROM STDIN") as copy:
            for i in range(vehicles):
                copy.write_row((f"B{i:06d}", f"苏F·B{i:06d}", "sanitation"))
    return dsn


class Listener(threading.Thread):
    """Latency of every moved fix, from the NOTIFYs (delivered at commit)."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn, self.latencies, self.stop = dsn, [], threading.Event()
        self.seen: list[tuple[float, float]] = []  # (received, fix time) per moved fix
        self.ready = threading.Event()

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute("LISTEN onemap_live")
            self.ready.set()
            while not self.stop.is_set():
                for note in conn.notifies(timeout=0.5):
                    now = time.time()
                    for fix in json.loads(note.payload).get("fixes", []):
                        self.latencies.append(now - fix[5])
                        self.seen.append((now, fix[5]))

    def windows(self, t0: float, width: float = 30.0) -> list[list]:
        """[second from t0, fixes, p99 ms] per `width` s of publish time: where it fell behind."""
        by: dict[int, list[float]] = {}
        for got, fix in self.seen:
            by.setdefault(int((fix - t0) // width), []).append(got - fix)
        return [
            [k * width, len(v), round(float(np.percentile(np.array(v) * 1000, 99)))]
            for k, v in sorted(by.items())
        ]

    def recovered_after(self, t: float) -> float | None:
        """Seconds from `t` until a fix stamped after `t` was visible within 1 s."""
        times = [got for got, fix in self.seen if fix > t and got - fix < 1.0]
        return round(min(times) - t, 2) if times else None


MAX_AHEAD = 50_000  # published but not yet acknowledged by the broker, at most


def publish(
    url_port: int, topic: str, rate: float, seconds: float, vehicles: int, midway=None
) -> int:
    """Publish for `seconds` at `rate`; `midway()` is called once half-way. Returns once
    the broker acknowledged every message (QoS 1; the publisher's session is persistent
    and reconnects, so a broker restart costs nothing)."""
    client = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=f"onemap-bench-pub-{secrets.token_hex(3)}",
        clean_session=False,
    )
    client.max_inflight_messages_set(1000)
    client.reconnect_delay_set(0.1, 1)
    acked = [0]  # PUBACKs (mids wrap at 65535: counted, not collected)

    def on_publish(_c, _u, _mid, _rc, _p) -> None:
        acked[0] += 1

    client.on_publish = on_publish
    client.connect("127.0.0.1", url_port)
    client.loop_start()
    rng = np.random.default_rng(1)
    lon = rng.uniform(121.05, 121.55, vehicles)
    lat = rng.uniform(31.75, 32.15, vehicles)
    sent, start = 0, time.monotonic()
    while (elapsed := time.monotonic() - start) < seconds:
        if midway is not None and elapsed >= seconds / 2:
            threading.Thread(target=midway, daemon=True).start()
            midway = None
        due = int(elapsed * rate) + 1
        # back-pressure: paho numbers messages 1..65535 and a newer one with a queued one's
        # number replaces it, so the publisher never runs more than MAX_AHEAD ahead of PUBACKs
        while sent < due and sent - acked[0] < MAX_AHEAD:
            i = sent % vehicles
            lon[i] += 0.0003
            body = {
                "vehicle": f"B{i:06d}",
                "t": int(time.time() * 1000),
                "lon": round(lon[i], 6),
                "lat": round(lat[i], 6),
                "speed": 20,
            }
            client.publish(f"{topic}/B{i:06d}", json.dumps(body), qos=1)
            sent += 1
        time.sleep(0.002)  # the publisher's pacing
    # the publisher's own queue drains at the broker's pace: wait while it makes progress
    last, stalled = acked[0], time.monotonic()
    while acked[0] < sent:
        if acked[0] != last:
            last, stalled = acked[0], time.monotonic()
        elif time.monotonic() - stalled > 60:
            raise RuntimeError(f"broker acknowledged {acked[0]} of {sent}")
        time.sleep(0.05)
    client.disconnect()
    client.loop_stop()
    return sent


class Broker:
    """A Mosquitto of the benchmark's own on a free port, queues unlimited (a shared broker's
    default max_queued_messages, 1000, would drop what the feed has not yet taken), with
    persistence, so that `restart()` keeps the sessions and their queued messages."""

    def __init__(self, directory: Path) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("*.db"):
            old.unlink()
        self.conf = directory / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
            f"max_queued_bytes 0\npersistence true\npersistence_location {directory}/\n"
            f"user {os.environ.get('USER') or 'root'}\n"
        )
        self.proc = self._start()

    def _start(self) -> subprocess.Popen:
        proc = subprocess.Popen(["mosquitto", "-c", str(self.conf)], stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return proc

    def stop(self) -> None:
        self.proc.terminate()  # SIGTERM: Mosquitto writes its persistence file
        self.proc.wait(30)

    def restart(self) -> None:
        self.stop()
        self.proc = self._start()


def wait_port(port: int) -> None:
    import socket

    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start") from None
            time.sleep(0.05)


def wait_stored(dsn: str, sent: int, stall_s: float = 60.0) -> int:
    """Fixes stored once the feed caught up with `sent`, or once it stored nothing new for
    `stall_s` (so "lost" is what never came, not what was still on its way)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        last, since = -1, time.monotonic()
        while True:
            stored = conn.execute("SELECT count(*) FROM vehicle_positions").fetchone()[0]
            if stored >= sent:
                return stored
            if stored != last:
                last, since = stored, time.monotonic()
            elif time.monotonic() - since > stall_s:
                return stored
            time.sleep(0.2)


def percentiles(latencies: list[float]) -> dict:
    ms = np.array(latencies) * 1000
    if not len(ms):
        return {"p50_ms": None, "p95_ms": None, "p99_ms": None, "max_ms": None}
    return {
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p95_ms": round(float(np.percentile(ms, 95)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
    }


def disruption(kind: str | None, broker: Broker, dsn: str, marks: dict):
    """What happens half-way: nothing, a broker restart, or the feed's connection killed."""
    if kind is None:
        return None

    def restart_broker() -> None:
        marks["at"] = time.time()
        broker.restart()
        marks["done_s"] = round(time.time() - marks["at"], 2)

    def kill_db() -> None:
        marks["at"] = time.time()
        with psycopg.connect(dsn, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE application_name LIKE 'onemap-feed%' AND datname = current_database()"
            ).fetchone()[0]
        marks["killed"] = killed
        marks["done_s"] = round(time.time() - marks["at"], 2)

    return restart_broker if kind == "broker" else kill_db


def feed_env(dsn: str, port: int, topic: str, token: str, derive_every: float = 10.0) -> dict:
    return dict(
        os.environ,
        DATABASE_URL=dsn,
        ONEMAP_MQTT_URL=f"mqtt://127.0.0.1:{port}",
        PYTHONPATH=str(ROOT),
        ONEMAP_FEED__TOPICS=json.dumps([f"{topic}/#"]),
        ONEMAP_FEED__CLIENT_ID=f"onemap-bench-{token}",
        ONEMAP_FEED__SESSION_EXPIRY_S="600",
        ONEMAP_FEED__DERIVE_EVERY_S=str(derive_every),
    )


def wait_connected(log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while "feed: connected" not in log_path.read_text():
        if time.monotonic() > deadline:
            raise RuntimeError("feed did not connect")
        time.sleep(0.1)


def run(args: argparse.Namespace) -> dict:
    settings = load_settings()
    server = settings.database.dsn.rsplit("/", 1)[0] + "/postgres"
    broker = Broker(ROOT / "var" / "bench_mosquitto")
    dsn = scratch(server, args.vehicles)
    seeded = time.monotonic()
    if args.history:
        seed_history(dsn, args.vehicles, args.history)
        print(f"history: {args.history} fixes per vehicle in {time.monotonic() - seeded:.0f} s")
    token = secrets.token_hex(3)
    topic = f"onemap/bench/{token}"
    onemap = Path(sys.executable).parent / "onemap"
    log_path = ROOT / "var" / f"bench_feed_{token}.log"
    log = open(log_path, "w")  # noqa: SIM115 - lives with the process
    feed = subprocess.Popen(
        [str(onemap), "feed", "run"],
        env=feed_env(dsn, broker.port, topic, token, args.derive_every),
        stdout=log,
        stderr=log,
    )
    listener = Listener(dsn)
    listener.start()
    listener.ready.wait(10)
    marks: dict = {}
    try:
        wait_connected(log_path)
        t0 = time.monotonic()
        wall0 = time.time()
        midway = disruption(args.restart, broker, dsn, marks)
        sent = publish(broker.port, topic, args.rate, args.seconds, args.vehicles, midway)
        published_s = time.monotonic() - t0
        stored = wait_stored(dsn, sent)
        catch_up = time.monotonic() - t0 - published_s
        derived_behind = wait_derived(dsn)
    finally:
        feed.terminate()
        feed.wait(10)
        listener.stop.set()
        broker.stop()
    result = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rate": args.rate,
        "seconds": args.seconds,
        "vehicles": args.vehicles,
        "restart": args.restart,
        "sent": sent,
        "achieved_rate": round(sent / published_s),
        "stored": stored,
        "lost": sent - stored,
        "catch_up_s": round(catch_up, 2),
        "derived_behind_s": round(derived_behind, 1),
        "history": args.history,
        "derive_every_s": args.derive_every,
        "recovered_s": listener.recovered_after(marks["at"]) if "at" in marks else None,
        "disruption": {k: v for k, v in marks.items() if k != "at"},
        "load": os.getloadavg()[0],
        **percentiles(listener.latencies),
        "p99_by_30s": listener.windows(wall0),
    }
    if not args.keep:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    return result


HEADER = (
    "| when | vehicles | target msg/s | achieved msg/s | s | restart | sent | lost | p50 ms | "
    "p95 ms | p99 ms | max ms | catch-up s | recovered s | note | history | derived behind s | "
    "load |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def record(r: dict, note: str) -> str:
    """Append the run's row to the `feed` section of bench/RESULTS.md (earlier rows kept)."""
    line = (
        f"| {r['when']} | {r['vehicles']} | {r['rate']:g} | {r['achieved_rate']} | "
        f"{r['seconds']:g} | {r['restart'] or '-'} | {r['sent']} | {r['lost']} | "
        f"{r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | {r['max_ms']} | "
        f"{r['catch_up_s']} | {r['recovered_s'] if r['recovered_s'] is not None else '-'} | "
        f"{note} | {r['history'] or '-'} | {r['derived_behind_s']} (every {r['derive_every_s']:g} s)"
        f" | {r['load']:.1f} |"
    )
    section = read_section("feed") or ""
    rows = [x for x in section.splitlines() if x.startswith("| 20")]
    intro = (
        section.split("\n| when |")[0].strip() or "# Live feed: publish → visible (bench/feed.py)"
    )
    write_section("feed", f"{intro}\n\n{HEADER}\n" + "\n".join([*rows, line]))
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--vehicles", type=int, default=20000)
    parser.add_argument("--restart", choices=("broker", "db"), default=None)
    parser.add_argument("--history", type=int, default=0)
    parser.add_argument("--derive-every", type=float, default=30.0)
    parser.add_argument("--note", default="")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    r = run(args)
    print(json.dumps(r))
    print(record(r, args.note))


if __name__ == "__main__":
    main()
