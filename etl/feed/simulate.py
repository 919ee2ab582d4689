"""`onemap feed simulate`: the demo fleet moving live, published to the broker.

Each vehicle walks its latest day track (boats theirs, on the river) from the
vertex nearest to where it stands now, at its kind's usual speed, turning back
at the track's ends; every `interval_s` it publishes one fix stamped now to
`<prefix>/<code>` (QoS 1), vehicles spread evenly over the interval. Vehicles
whose last fix is in the future (a demo loaded without `until`, as the tests do)
are left out: a fix of now would be a late one and move nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import numpy as np
import paho.mqtt.client as mqtt
import psycopg

KIND_KMH = {"sanitation": 18.0, "muck": 32.0, "sweeper": 9.0, "patrol_boat": 16.0,
            "fishing_boat": 10.0, "cargo_ship": 15.0}  # fmt: skip
M_PER_DEG = 111195.08

_WALKS = """
SELECT DISTINCT ON (t.vehicle_code) t.vehicle_code, v.kind,
       ST_AsGeoJSON(ST_Force2D(t.geom), 7), ST_X(v.geom), ST_Y(v.geom)
FROM vehicle_tracks t JOIN vehicles v ON v.code = t.vehicle_code
WHERE v.geom IS NOT NULL AND (v.last_fix_at IS NULL OR v.last_fix_at <= now())
  AND t.fix_count >= 10
ORDER BY t.vehicle_code, t.day DESC
"""


@dataclass
class Walker:
    """One vehicle going back and forth along a path of lon/lat vertices."""

    code: str
    kmh: float
    path: np.ndarray  # (n, 2) lon, lat
    cum: np.ndarray  # metres from the first vertex
    at_m: float
    forward: bool = True

    def step(self, seconds: float) -> tuple[float, float, float, float]:
        """Advance; returns (lon, lat, heading, speed km/h)."""
        total = float(self.cum[-1])
        move = self.kmh / 3.6 * seconds
        self.at_m += move if self.forward else -move
        if self.at_m >= total or self.at_m <= 0:
            self.forward = not self.forward
            self.at_m = min(max(self.at_m, 0.0), total)
        i = int(np.clip(np.searchsorted(self.cum, self.at_m) - 1, 0, len(self.cum) - 2))
        seg = float(self.cum[i + 1] - self.cum[i])
        f = 0.0 if seg == 0 else (self.at_m - float(self.cum[i])) / seg
        (x0, y0), (x1, y1) = self.path[i], self.path[i + 1]
        lon, lat = x0 + (x1 - x0) * f, y0 + (y1 - y0) * f
        dx, dy = (x1 - x0) * math.cos(math.radians(y0)), y1 - y0
        if not self.forward:
            dx, dy = -dx, -dy
        heading = (math.degrees(math.atan2(dx, dy)) + 360.0) % 360.0
        return lon, lat, heading, self.kmh


def walker(code: str, kind: str, geojson: str, x: float, y: float) -> Walker | None:
    path = np.array(json.loads(geojson)["coordinates"], dtype=np.float64)
    if len(path) < 2:
        return None
    d = np.hypot(np.diff(path[:, 0]) * np.cos(np.radians(path[:-1, 1])), np.diff(path[:, 1]))
    cum = np.concatenate([[0.0], np.cumsum(d * M_PER_DEG)])
    if cum[-1] < 50:
        return None
    nearest = int(np.argmin(np.hypot(path[:, 0] - x, path[:, 1] - y)))
    return Walker(code, KIND_KMH.get(kind, 15.0), path, cum, float(cum[nearest]))


def load_walkers(dsn: str, limit: int | None = None) -> list[Walker]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(_WALKS).fetchall()
    walkers = [w for row in rows if (w := walker(*row)) is not None]
    return walkers[:limit] if limit else walkers


def _client(url: str) -> mqtt.Client:
    parts = urlsplit(url)
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="")
    if parts.scheme == "mqtts":
        client.tls_set()
    if parts.username:
        client.username_pw_set(parts.username, parts.password)
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    return client


def simulate(
    dsn: str,
    url: str,
    prefix: str = "onemap/positions",
    interval_s: float = 10.0,
    rounds: int | None = None,
    limit: int | None = None,
    log=print,  # noqa: ANN001 - a callable taking a line
) -> int:
    """Publish until interrupted (or for `rounds` intervals); returns fixes published."""
    walkers = load_walkers(dsn, limit)
    log(f"模拟 simulate: {len(walkers)} vehicles every {interval_s:g} s to {url} {prefix}/<code>")
    if not walkers:
        return 0
    client = _client(url)
    sent, start = 0, time.monotonic()
    try:
        k = 0
        while rounds is None or k < rounds * len(walkers):
            w = walkers[k % len(walkers)]
            due = start + k * interval_s / len(walkers)
            time.sleep(max(0.0, due - time.monotonic()))  # pacing of a publisher
            lon, lat, heading, kmh = w.step(interval_s)
            body = {
                "vehicle": w.code,
                "t": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                "lon": round(lon, 7),
                "lat": round(lat, 7),
                "speed": kmh,
                "heading": round(heading, 1),
            }
            client.publish(f"{prefix}/{w.code}", json.dumps(body), qos=1).wait_for_publish(10)
            sent += 1
            k += 1
    finally:
        client.disconnect()
        client.loop_stop()
    return sent
