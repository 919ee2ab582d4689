"""Geofences: one alert per episode, not one per fix.

Rules, judged on each vehicle's newest fix as it moves (late fixes move no one
and are not judged):
- `forbidden_zone`: a vehicle of a kind a `forbidden_zones` row lists (muck
  trucks by default) is inside that zone;
- `left_patrol_zone`: a patrol boat is outside every `patrol` river zone;
- `fishing_ban_night`: a vessel of a kind `NightBan.kinds` lists (fishing boats and
  cargo ships by default; not patrol boats, which patrol those waters) is inside a
  `fishing_ban` river zone (禁捕区) at night — the fix's local time in
  `[night_from, night_to)`, a night that may cross midnight. The first fix by day
  closes the episode, as leaving the zone does.
An episode opens (a `geofence_alerts` row, ended_at NULL) at the first fix that
breaks a rule, is counted by the fixes that still do, and is closed by the first
fix that no longer does. One statement; driver-neutral SQL; nothing commits.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass


@dataclass(frozen=True)
class NightBan:
    """When and for whom a 禁捕区 is closed (settings: feed.geofences.fishing_ban_night)."""

    kinds: tuple[str, ...] = ("fishing_boat", "cargo_ship")  # () : the rule is off
    night_from: dt.time = dt.time(20, 0)
    night_to: dt.time = dt.time(6, 0)
    timezone: str = "Asia/Shanghai"


_JUDGE = """
WITH f AS (
    SELECT f.code, to_timestamp(f.epoch) AS t, ST_SetSRID(ST_MakePoint(f.x, f.y), 4326) AS pt,
           v.kind
    FROM unnest(%(codes)s::text[], %(epochs)s::float8[], %(xs)s::float8[], %(ys)s::float8[])
         AS f(code, epoch, x, y)
    JOIN vehicles v ON v.code = f.code
), hits AS (
    SELECT f.code, 'forbidden_zone' AS rule, z.code AS zone, f.t, f.pt
    FROM f JOIN forbidden_zones z ON f.kind = ANY(z.kinds) AND ST_Intersects(z.geom, f.pt)
    UNION ALL
    SELECT f.code, 'left_patrol_zone', '', f.t, f.pt
    FROM f
    WHERE f.kind = 'patrol_boat'
      AND EXISTS (SELECT 1 FROM river_patrol_zones)
      AND NOT EXISTS (SELECT 1 FROM river_patrol_zones z
                      WHERE z.zone_kind = 'patrol' AND ST_Intersects(z.geom, f.pt))
    UNION ALL
    SELECT f.code, 'fishing_ban_night', z.code, f.t, f.pt
    FROM (SELECT f.*, (f.t AT TIME ZONE %(tz)s)::time AS local FROM f
          WHERE f.kind = ANY(%(night_kinds)s::text[])) f
    JOIN river_patrol_zones z ON z.zone_kind = 'fishing_ban' AND ST_Intersects(z.geom, f.pt)
    WHERE CASE WHEN %(night_from)s::time <= %(night_to)s::time
               THEN f.local >= %(night_from)s::time AND f.local < %(night_to)s::time
               ELSE f.local >= %(night_from)s::time OR f.local < %(night_to)s::time END
), closed AS (
    UPDATE geofence_alerts a SET ended_at = f.t
    FROM f
    WHERE a.vehicle_code = f.code AND a.ended_at IS NULL
      AND NOT EXISTS (SELECT 1 FROM hits h WHERE h.code = a.vehicle_code AND h.rule = a.rule
                                             AND h.zone = a.zone_code)
    RETURNING a.id, a.rule, a.vehicle_code, a.zone_code, a.started_at, a.ended_at
), seen AS (
    UPDATE geofence_alerts a SET last_seen_at = h.t, fix_count = a.fix_count + 1
    FROM hits h
    WHERE a.vehicle_code = h.code AND a.rule = h.rule AND a.zone_code = h.zone
      AND a.ended_at IS NULL
    RETURNING a.id
), opened AS (
    INSERT INTO geofence_alerts (rule, vehicle_code, zone_code, started_at, last_seen_at, geom)
    SELECT h.rule, h.code, h.zone, h.t, h.t, h.pt FROM hits h
    WHERE NOT EXISTS (SELECT 1 FROM geofence_alerts a
                      WHERE a.vehicle_code = h.code AND a.rule = h.rule
                        AND a.zone_code = h.zone AND a.ended_at IS NULL)
    RETURNING id, rule, vehicle_code, zone_code, started_at, ended_at
)
SELECT 'opened', id, rule, vehicle_code, zone_code, extract(epoch FROM started_at)::float8, NULL::float8
FROM opened
UNION ALL
SELECT 'closed', id, rule, vehicle_code, zone_code, extract(epoch FROM started_at)::float8,
       extract(epoch FROM ended_at)::float8
FROM closed
"""


def judge(cur, moved: list[list], night: NightBan | None = None) -> list[dict]:
    """Open and close episodes for these newest fixes ([code, lon, lat, speed, heading,
    epoch_s]); returns the episodes opened or closed, for the live stream."""
    if not moved:
        return []
    night = night or NightBan()
    cur.execute(
        _JUDGE,
        {
            "codes": [m[0] for m in moved],
            "epochs": [m[5] for m in moved],
            "xs": [m[1] for m in moved],
            "ys": [m[2] for m in moved],
            "night_kinds": list(night.kinds),
            "night_from": night.night_from.isoformat(),
            "night_to": night.night_to.isoformat(),
            "tz": night.timezone,
        },
    )
    return [
        {
            "change": change,
            "id": aid,
            "rule": rule,
            "vehicle": code,
            "zone": zone,
            "started": started,
            "ended": ended,
        }
        for change, aid, rule, code, zone, started, ended in cur.fetchall()
    ]
