"""Vehicle tracks: the domain rule that turns GPS fixes into one track per vehicle per day.

A day is an Asia/Shanghai calendar day. A track is a LineStringM whose M is
the fix time in epoch seconds, vertices ordered by fix time, with distance
measured on the spheroid (geography). Shared by the demo loader and the GPS
importer, so both build tracks the same way; rebuilding is an upsert, so it
can be re-run for just the vehicles and days an import touched.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from layers.dbapi import Connection
from layers.pgbinary import copy_binary, encode_rows, linestring_m, runs

# A line's length on the spheroid: tracks and trips, whichever builder.
DISTANCE_KM = "ST_Length(ST_Force2D({line})::geography) / 1000.0"

# What a track row is, given lines(vehicle_code, day, started_at, ended_at,
# fix_count, line): the one definition both builders below feed.
_UPSERT = """
INSERT INTO vehicle_tracks AS t
    (code, vehicle_code, plate, kind, day, started_at, ended_at, fix_count, distance_km, geom, updated_at)
SELECT l.vehicle_code || '-' || to_char(l.day, 'YYYYMMDD'), l.vehicle_code, v.plate, v.kind, l.day,
       l.started_at, l.ended_at, l.fix_count,
       {distance},
       ST_SetSRID(CASE WHEN ST_NPoints(l.line) = 1 THEN ST_AddPoint(l.line, ST_PointN(l.line, 1))
                       ELSE l.line END, 4326),
       now()
FROM {lines} l
LEFT JOIN vehicles v ON v.code = l.vehicle_code
ON CONFLICT (vehicle_code, day) DO UPDATE SET
    plate = EXCLUDED.plate, kind = EXCLUDED.kind, started_at = EXCLUDED.started_at,
    ended_at = EXCLUDED.ended_at, fix_count = EXCLUDED.fix_count,
    distance_km = EXCLUDED.distance_km, geom = EXCLUDED.geom, updated_at = now()
"""


def upsert_sql(lines: str, distance: str) -> str:
    """The track upsert fed by the relation `lines` (e.g. a CTE of the live feed's
    appended lines), with `distance` the SQL of each line's length."""
    return _UPSERT.format(lines=lines, distance=distance)


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
)""" + _UPSERT.replace("{lines}", "lines").replace("{distance}", DISTANCE_KM.format(line="l.line"))

_STAGED = "_onemap_track_lines"

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
    conn: Connection,
    vehicle_codes: list[str] | None = None,
    days: list[dt.date] | None = None,
    *,
    move_vehicles: bool = True,
) -> int:
    """Build or replace the tracks of these vehicles on these days (None: all); returns tracks written.

    Also moves each touched vehicle's last position forward, unless `move_vehicles` is
    False (the live feed keeps those itself). Does not commit.
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
    if move_vehicles:
        update_last_positions(conn, vehicle_codes)
    return written


def update_last_positions(conn: Connection, vehicle_codes: list[str] | None = None) -> int:
    """Set vehicles' last fix (time, speed, heading, point) from their newest position.

    Never moves a vehicle back in time (an old day re-imported keeps the newer fix).
    """
    with conn.cursor() as cur:
        cur.execute(_LAST, {"codes": vehicle_codes})
        return cur.rowcount


_LINE_KINDS = ("text", "date", "tstz", "tstz", "int4", "bytes")


def track_lines(
    codes: list[str], code_idx: np.ndarray, day: np.ndarray, t_us: np.ndarray, xym: np.ndarray
) -> list[tuple]:
    """(vehicle_code, day, started_at, ended_at, fix_count, line) per vehicle and day, from
    fixes sorted by (vehicle, time); day is days since 1970-01-01, xym rows (lon, lat, M)."""
    bounds = runs(code_idx, day)
    return [
        # a one-fix day is sent as its point twice (a WKB line needs two; _UPSERT would
        # add the same point to a one-point line built in SQL)
        (
            codes[code_idx[a]],
            day[a],
            t_us[a],
            t_us[b - 1],
            b - a,
            linestring_m(xym[[a, a]] if b - a == 1 else xym[a:b]),
        )
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]


def stage_lines(cur, table: str, columns: str, kinds: tuple[str, ...], rows: list[tuple]) -> None:
    """A temporary table of lines, filled by binary COPY (replaced if it exists). The lines
    are read once: stored uncompressed (compressing 100 MB of lines costs seconds)."""
    cur.execute(f"DROP TABLE IF EXISTS {table}")
    cur.execute(f"CREATE TEMP TABLE {table} ({columns}) ON COMMIT DROP")
    cur.execute(f"ALTER TABLE {table} ALTER COLUMN line SET STORAGE EXTERNAL")
    copy_binary(cur, table, encode_rows(rows, kinds))


def line_lengths_km(conn: Connection, lines: list[bytes]) -> list[float]:
    """DISTANCE_KM of each EWKB line. Needs no transaction of its own, so an importer can
    run it on a second connection while its own is busy building indexes."""
    with conn.cursor() as cur:
        stage_lines(
            cur,
            "_onemap_lines",
            "n integer, line geometry",
            ("int4", "bytes"),
            list(enumerate(lines)),
        )
        cur.execute(f"SELECT {DISTANCE_KM.format(line='line')} FROM _onemap_lines ORDER BY n")
        lengths = [row[0] for row in cur.fetchall()]
        cur.execute("DROP TABLE _onemap_lines")
    return lengths


def write_tracks(conn: Connection, lines: list[tuple], distance_km: list[float]) -> int:
    """Build or replace tracks from track_lines() of all fixes of some vehicle days, and
    their line_lengths_km(): the rows rebuild_tracks makes, without re-reading the fixes.
    Does not move vehicles' last positions (update_last_positions). Does not commit."""
    columns = (
        "vehicle_code text, day date, started_at timestamptz, ended_at timestamptz, "
        "fix_count integer, line geometry, distance_km double precision"
    )
    rows = [(*line, km) for line, km in zip(lines, distance_km, strict=True)]
    with conn.cursor() as cur:
        stage_lines(cur, _STAGED, columns, (*_LINE_KINDS, "float8"), rows)
        cur.execute(_UPSERT.format(lines=_STAGED, distance="l.distance_km"))
        return cur.rowcount
