"""Vehicle trips: the domain rule that cuts a vehicle's day of GPS fixes into trips.

A trip is a run of fixes between stops and feed gaps, within one Asia/Shanghai
day (like tracks). A fix is *still* when its speed (reported, or implied by the
previous fix) is below `stop_speed_kmh`; a run of still fixes lasting at least
`stop_minutes` (measured from the last moving fix) is a stop, and its fixes
belong to no trip. A gap of more than `gap_minutes` between two fixes also ends
a trip. Trips need two fixes. Geometry: LineStringM, M = epoch seconds.
Rebuilding replaces the trips of exactly the vehicles and days given.
"""

from __future__ import annotations

import datetime as dt

import psycopg2.extensions

_TRIPS = """
WITH f AS (
    SELECT p.vehicle_code, p.fix_time, p.speed_kmh, p.geom,
           lag(p.fix_time) OVER w AS prev_time,
           ST_DistanceSphere(lag(p.geom) OVER w, p.geom) AS step_m
    FROM vehicle_positions p
    WHERE p.vehicle_code = ANY(%(codes)s::text[])
      AND p.fix_time >= (%(day)s::timestamp AT TIME ZONE 'Asia/Shanghai')
      AND p.fix_time < ((%(day)s::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
    WINDOW w AS (PARTITION BY p.vehicle_code ORDER BY p.fix_time)
), m AS (
    SELECT *,
           coalesce(speed_kmh,
                    step_m / nullif(extract(epoch FROM fix_time - prev_time), 0) * 3.6,
                    0) < %(stop_speed)s AS still,
           coalesce(fix_time - prev_time > %(gap)s::interval, false) AS gap
    FROM f
), r AS (
    SELECT *, sum(CASE WHEN gap OR still IS DISTINCT FROM prev_still THEN 1 ELSE 0 END)
                  OVER (PARTITION BY vehicle_code ORDER BY fix_time) AS run
    FROM (SELECT *, lag(still) OVER (PARTITION BY vehicle_code ORDER BY fix_time) AS prev_still
          FROM m) x
), s AS (
    SELECT *, still AND (max(fix_time) OVER (PARTITION BY vehicle_code, run)
                         - coalesce(min(prev_time) OVER (PARTITION BY vehicle_code, run),
                                    min(fix_time) OVER (PARTITION BY vehicle_code, run)))
                        >= %(stop)s::interval AS stopped
    FROM r
), b AS (
    SELECT *, gap OR coalesce(lag(stopped) OVER (PARTITION BY vehicle_code ORDER BY fix_time), false)
              AS starts
    FROM s
), t AS (
    SELECT *, sum(CASE WHEN starts THEN 1 ELSE 0 END)
                  OVER (PARTITION BY vehicle_code ORDER BY fix_time) AS trip_no
    FROM b WHERE NOT stopped
), lines AS (
    SELECT vehicle_code, trip_no, min(fix_time) AS started_at, max(fix_time) AS ended_at,
           count(*) AS fix_count, max(speed_kmh) AS max_speed_kmh,
           ST_MakeLine(ST_MakePointM(ST_X(geom), ST_Y(geom), extract(epoch FROM fix_time))
                       ORDER BY fix_time) AS line
    FROM t GROUP BY vehicle_code, trip_no HAVING count(*) >= 2
)
INSERT INTO vehicle_trips (code, vehicle_code, day, started_at, ended_at, fix_count,
                           distance_km, max_speed_kmh, geom)
SELECT vehicle_code || '-' || to_char(started_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDDHH24MISS'),
       vehicle_code, %(day)s::date, started_at, ended_at, fix_count,
       ST_Length(ST_Force2D(line)::geography) / 1000.0, max_speed_kmh, ST_SetSRID(line, 4326)
FROM lines
"""


def rebuild_trips(
    conn: psycopg2.extensions.connection,
    vehicle_codes: list[str],
    days: list[dt.date],
    *,
    stop_minutes: float = 5.0,
    gap_minutes: float = 10.0,
    stop_speed_kmh: float = 3.0,
) -> int:
    """Replace the trips of these vehicles on these days; returns trips written. Does not commit."""
    written = 0
    with conn.cursor() as cur:
        cur.execute(
            "DELETE FROM vehicle_trips WHERE vehicle_code = ANY(%s::text[]) AND day = ANY(%s::date[])",
            (list(vehicle_codes), sorted(set(days))),
        )
        for day in sorted(set(days)):
            cur.execute(
                _TRIPS,
                {
                    "codes": list(vehicle_codes),
                    "day": day,
                    "stop_speed": stop_speed_kmh,
                    "gap": f"{gap_minutes} minutes",
                    "stop": f"{stop_minutes} minutes",
                },
            )
            written += cur.rowcount
    return written
