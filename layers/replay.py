"""Fleet replay (全局回放): every vehicle's fixes and the events created in one time window.

Bounded: at most `max_fixes` fixes. When the window holds more, each vehicle's
fixes are thinned by one stride (every k-th, from its first), so every vehicle
keeps its shape and stays on the map. Both statements filter `fix_time` by
the window, so only its day partitions are read. Plain SQL text, any driver.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

COUNTS_SQL = """
SELECT count(*), count(DISTINCT vehicle_code) FROM vehicle_positions
WHERE fix_time >= %(a)s AND fix_time < %(b)s
"""

FIXES_SQL = """
SELECT s.vehicle_code, v.plate, v.kind, extract(epoch FROM s.fix_time)::float8,
       ST_X(s.geom), ST_Y(s.geom), s.heading, s.speed_kmh
FROM (
    SELECT vehicle_code, fix_time, geom, heading, speed_kmh,
           row_number() OVER (PARTITION BY vehicle_code ORDER BY fix_time) AS rn
    FROM vehicle_positions
    WHERE fix_time >= %(a)s AND fix_time < %(b)s
) s
LEFT JOIN vehicles v ON v.code = s.vehicle_code
WHERE (s.rn - 1) %% %(k)s = 0
ORDER BY s.vehicle_code, s.fix_time
LIMIT %(n)s
"""

EVENTS_SQL = """
SELECT code, title, category, priority, status, extract(epoch FROM created_at)::float8,
       ST_X(geom), ST_Y(geom)
FROM events
WHERE created_at >= %(a)s AND created_at < %(b)s
ORDER BY created_at, code
LIMIT %(n)s
"""


@dataclass(frozen=True)
class Replay:
    """The window's fixes by vehicle and its events, and how much was left out."""

    vehicles: dict[
        str, dict
    ]  # code → {"plate", "kind", "fixes": [[epoch_s, lon, lat, heading, speed]]}
    events: list[dict]
    total_fixes: int
    returned_fixes: int
    stride: int  # 1: every fix; k: every k-th fix of each vehicle


def stride_for(total: int, vehicles: int, max_fixes: int) -> int:
    """The smallest k with sum over vehicles of ceil(n_v / k) <= max_fixes (when possible)."""
    if total <= max_fixes:
        return 1
    room = max_fixes - vehicles
    return max(1, math.ceil(total / room)) if room > 0 else total


def fleet_replay(
    cur, start: dt.datetime, end: dt.datetime, max_fixes: int, max_events: int
) -> Replay:
    cur.execute(COUNTS_SQL, {"a": start, "b": end})
    total, n_vehicles = cur.fetchone()
    k = stride_for(total, n_vehicles, max_fixes)
    cur.execute(FIXES_SQL, {"a": start, "b": end, "k": k, "n": max_fixes})
    vehicles: dict[str, dict] = {}
    rows = cur.fetchall()
    for code, plate, kind, t, x, y, heading, speed in rows:
        v = vehicles.setdefault(code, {"plate": plate, "kind": kind, "fixes": []})
        v["fixes"].append([t, round(x, 7), round(y, 7), heading, speed])
    cur.execute(EVENTS_SQL, {"a": start, "b": end, "n": max_events})
    events = [
        {
            "code": code, "title": title, "category": category, "priority": priority,
            "status": status, "t": t, "lon": round(x, 7), "lat": round(y, 7),
        }
        for code, title, category, priority, status, t, x, y in cur.fetchall()
    ]  # fmt: skip
    return Replay(vehicles, events, total, len(rows), k)
