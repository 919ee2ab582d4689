"""Benchmark the live feed: publish → visible as the vehicle's latest position, and loss.

    .venv/bin/python bench/feed.py [--rate 2000] [--seconds 60] [--vehicles 20000] [--keep]

Creates a scratch database (migrated, V bench vehicles), starts a private Mosquitto
(queues unlimited), runs a real `onemap feed` process against it,
publishes R messages/s (one QoS 1 fix each, vehicles in turn: each reports every
V/R s) for S seconds, and listens on `onemap_live`. The NOTIFY of a batch is
delivered when its transaction commits, when the fix is visible in `vehicles`:
latency = NOTIFY received − fix time (stamped at publish). Loss = published −
stored (counted in the database after the feed caught up). Results go to
bench/FEED_RESULTS.md (appended) and stdout.
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

from gis_server.settings import load_settings  # noqa: E402
from layers.migrate import upgrade  # noqa: E402


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


def publish(url_port: int, topic: str, rate: float, seconds: float, vehicles: int) -> int:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="")
    client.max_inflight_messages_set(1000)
    client.connect("127.0.0.1", url_port)
    client.loop_start()
    rng = np.random.default_rng(1)
    lon = rng.uniform(121.05, 121.55, vehicles)
    lat = rng.uniform(31.75, 32.15, vehicles)
    sent, start = 0, time.monotonic()
    infos = []
    while (elapsed := time.monotonic() - start) < seconds:
        due = int(elapsed * rate) + 1
        while sent < due:
            i = sent % vehicles
            lon[i] += 0.0003
            body = {
                "vehicle": f"B{i:06d}",
                "t": int(time.time() * 1000),
                "lon": round(lon[i], 6),
                "lat": round(lat[i], 6),
                "speed": 20,
            }
            infos.append(client.publish(f"{topic}/B{i:06d}", json.dumps(body), qos=1))
            sent += 1
        time.sleep(0.002)  # the publisher's pacing
    for info in infos:
        info.wait_for_publish(30)
    client.disconnect()
    client.loop_stop()
    return sent


def private_broker(directory: Path) -> tuple[subprocess.Popen, int]:
    """A Mosquitto of the benchmark's own on a free port, queues unlimited (a shared broker's
    default max_queued_messages, 1000, would drop what the feed has not yet taken)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    directory.mkdir(parents=True, exist_ok=True)
    conf = directory / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\nmax_queued_messages 0\n"
        f"max_queued_bytes 0\nuser {os.environ.get('USER') or 'root'}\n"
    )
    proc = subprocess.Popen(["mosquitto", "-c", str(conf)], stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, port
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("mosquitto did not start") from None
            time.sleep(0.05)


def wait_stored(dsn: str, sent: int, timeout_s: float = 120.0) -> int:
    """Fixes stored once the feed caught up with `sent` (or at the deadline)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        deadline = time.monotonic() + timeout_s
        while True:
            stored = conn.execute("SELECT count(*) FROM vehicle_positions").fetchone()[0]
            if stored >= sent or time.monotonic() > deadline:
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


def run(args: argparse.Namespace) -> dict:
    settings = load_settings()
    server = settings.database.dsn.rsplit("/", 1)[0] + "/postgres"
    broker, port = private_broker(ROOT / "var" / "bench_mosquitto")
    url = f"mqtt://127.0.0.1:{port}"
    dsn = scratch(server, args.vehicles)
    token = secrets.token_hex(3)
    topic = f"onemap/bench/{token}"
    env = dict(
        os.environ,
        DATABASE_URL=dsn,
        ONEMAP_MQTT_URL=url,
        PYTHONPATH=str(ROOT),
        ONEMAP_FEED__TOPICS=json.dumps([f"{topic}/#"]),
        ONEMAP_FEED__CLIENT_ID=f"onemap-bench-{token}",
        ONEMAP_FEED__SESSION_EXPIRY_S="600",
    )
    onemap = Path(sys.executable).parent / "onemap"
    log_path = ROOT / "var" / f"bench_feed_{token}.log"
    log = open(log_path, "w")  # noqa: SIM115 - lives with the process
    feed = subprocess.Popen([str(onemap), "feed", "run"], env=env, stdout=log, stderr=log)
    listener = Listener(dsn)
    listener.start()
    listener.ready.wait(10)
    try:
        deadline = time.monotonic() + 30
        while "feed: connected" not in log_path.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("feed did not connect")
            time.sleep(0.1)
        t0 = time.monotonic()
        sent = publish(port, topic, args.rate, args.seconds, args.vehicles)
        published_s = time.monotonic() - t0
        stored = wait_stored(dsn, sent)
        catch_up = time.monotonic() - t0 - published_s
    finally:
        feed.terminate()
        feed.wait(10)
        listener.stop.set()
        broker.terminate()
        broker.wait(10)
    result = {
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "rate": args.rate,
        "seconds": args.seconds,
        "vehicles": args.vehicles,
        "sent": sent,
        "achieved_rate": round(sent / published_s),
        "stored": stored,
        "lost": sent - stored,
        "catch_up_s": round(catch_up, 2),
        **percentiles(listener.latencies),
    }
    if not args.keep:
        with psycopg.connect(server, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{dsn.rsplit("/", 1)[1]}" WITH (FORCE)')
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=2000)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--vehicles", type=int, default=20000)
    parser.add_argument("--note", default="")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    r = run(args)
    line = (
        f"| {r['when']} | {r['vehicles']} | {r['rate']:g} | {r['achieved_rate']} | "
        f"{r['seconds']:g} | {r['sent']} | {r['lost']} | {r['p50_ms']} | {r['p95_ms']} | "
        f"{r['p99_ms']} | {r['max_ms']} | {r['catch_up_s']} | {args.note} |"
    )
    print(json.dumps(r))
    out = ROOT / "bench" / "FEED_RESULTS.md"
    if not out.exists():
        out.write_text(
            "# Live feed: publish → visible (bench/feed.py)\n\n"
            "| when | vehicles | target msg/s | achieved msg/s | s | sent | lost | p50 ms | "
            "p95 ms | p99 ms | max ms | catch-up s | note |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
        )
    with out.open("a") as f:
        f.write(line + "\n")
    print(line)


if __name__ == "__main__":
    main()
