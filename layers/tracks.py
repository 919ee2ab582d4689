"""Vehicle tracks: the domain rule that turns GPS fixes into one track per vehicle per day.

A day is an Asia/Shanghai calendar day. A track is a LineStringM whose M is
the fix time in epoch seconds, vertices ordered by fix time, with distance
measured on the spheroid (geography). Shared by the demo loader and the GPS
importer, so both build tracks the same way; rebuilding is an upsert, so it
can be re-run for just the vehicles and days an import touched.
"""

from __future__ import annotations

import datetime as dt

import psycopg2.extensions

_TRACKS = """
WITH fixes AS (
    SELECT p.vehicle_code,
           (p.fix_time AT TIME ZONE 'Asia/Shanghai')::date AS day,
           p.fix_time, p.geom
    FROM vehicle_positions p
    WHERE {where}
), lines AS (
    SELECT vehicle_code, day,
           min(fix_time) AS started_at, max(fix_time) AS ended_at, count(*) AS fix_count,
           ST_MakeLine(ST_MakePointM(ST_X(geom), ST_Y(geom), extract(epoch FROM fix_time))
                       ORDER BY fix_time) AS line
    FROM fixes
    GROUP BY vehicle_code, day
)
INSERT INTO vehicle_tracks AS t
    (code, vehicle_code, plate, kind, day, started_at, ended_at, fix_count, distance_km, geom, updated_at)
SELECT l.vehicle_code || '-' || to_char(l.day, 'YYYYMMDD'), l.vehicle_code, v.plate, v.kind, l.day,
       l.started_at, l.ended_at, l.fix_count,
       ST_Length(ST_Force2D(l.line)::geography) / 1000.0,
       ST_SetSRID(CASE WHEN ST_NPoints(l.line) = 1 THEN ST_AddPoint(l.line, ST_PointN(l.line, 1))
                       ELSE l.line END, 4326),
       now()
FROM lines l
LEFT JOIN vehicles v ON v.code = l.vehicle_code
ON CONFLICT (vehicle_code, day) DO UPDATE SET
    plate = EXCLUDED.plate, kind = EXCLUDED.kind, started_at = EXCLUDED.started_at,
    ended_at = EXCLUDED.ended_at, fix_count = EXCLUDED.fix_count,
    distance_km = EXCLUDED.distance_km, geom = EXCLUDED.geom, updated_at = now()
"""

_LAST = """
UPDATE vehicles v
SET last_fix_at = l.fix_time, speed_kmh = l.speed_kmh, heading = l.heading, geom = l.geom,
    updated_at = now()
FROM vehicles v2
CROSS JOIN LATERAL (
    SELECT p.fix_time, p.speed_kmh, p.heading, p.geom
    FROM vehicle_positions p
    WHERE p.vehicle_code = v2.code
    ORDER BY p.fix_time DESC
    LIMIT 1
) l
WHERE v.gid = v2.gid
  AND (%(codes)s::text[] IS NULL OR v2.code = ANY(%(codes)s::text[]))
  AND (v.last_fix_at IS NULL OR l.fix_time >= v.last_fix_at)
"""


def rebuild_tracks(
    conn: psycopg2.extensions.connection,
    vehicle_codes: list[str] | None = None,
    days: list[dt.date] | None = None,
) -> int:
    """Build or replace the tracks of these vehicles on these days (None: all); returns tracks written.

    Also moves each touched vehicle's last position forward. Does not commit.
    """
    where = ["(%(codes)s::text[] IS NULL OR p.vehicle_code = ANY(%(codes)s::text[]))"]
    params: dict[str, object] = {"codes": vehicle_codes}
    written = 0
    with conn.cursor() as cur:
        if days is None:
            cur.execute(_TRACKS.format(where=" AND ".join(where)), params)
            written += cur.rowcount
        else:
            # one statement per day, with the day's bounds as values so the
            # planner reads only that day's partition
            day_where = " AND ".join(
                [
                    *where,
                    "p.fix_time >= (%(day)s::timestamp AT TIME ZONE 'Asia/Shanghai')",
                    "p.fix_time < ((%(day)s::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')",
                ]
            )
            for day in sorted(set(days)):
                cur.execute(_TRACKS.format(where=day_where), {**params, "day": day})
                written += cur.rowcount
    update_last_positions(conn, vehicle_codes)
    return written


def update_last_positions(
    conn: psycopg2.extensions.connection, vehicle_codes: list[str] | None = None
) -> int:
    """Set vehicles' last fix (time, speed, heading, point) from their newest position.

    Never moves a vehicle back in time (an old day re-imported keeps the newer fix).
    """
    with conn.cursor() as cur:
        cur.execute(_LAST, {"codes": vehicle_codes})
        return cur.rowcount
