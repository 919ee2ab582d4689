"""Day tracks kept up to date as live fixes arrive, without rebuilding them from scratch.

The rule is the one of `layers/tracks.py` (one LineStringM per vehicle and
Asia/Shanghai day, M = epoch seconds, a one-fix day its point twice); a batch's
fixes that all come after a vehicle-day's track end are appended to it; a late
fix (at or before the end) rebuilds only its vehicle-day from the table. Either
way the row equals what a full rebuild gives. Driver-neutral SQL; nothing commits.
The live feed runs it behind the acknowledgement (`etl/feed/derive.py`).
"""

from __future__ import annotations

import datetime as dt

from layers.tracks import DISTANCE_KM, rebuild_tracks, upsert_sql

_ENDS = """
SELECT b.code, b.day, t.ended_at
FROM unnest(%(codes)s::text[], %(days)s::date[]) AS b(code, day)
LEFT JOIN vehicle_tracks t ON t.vehicle_code = b.code AND t.day = b.day
"""

_APPEND = """
WITH new AS (
    SELECT vehicle_code, (fix_time AT TIME ZONE 'Asia/Shanghai')::date AS day, fix_time, x, y
    FROM unnest(%(codes)s::text[], %(ts)s::timestamptz[], %(xs)s::float8[], %(ys)s::float8[])
         AS b(vehicle_code, fix_time, x, y)
), added AS (
    SELECT vehicle_code, day, min(fix_time) AS s, max(fix_time) AS e, count(*) AS n,
           array_agg(ST_SetSRID(ST_MakePointM(x, y, extract(epoch FROM fix_time)), 4326)
                     ORDER BY fix_time) AS pts
    FROM new GROUP BY vehicle_code, day
), appended AS (
    SELECT a.vehicle_code, a.day, coalesce(t.started_at, a.s) AS started_at,
           a.e AS ended_at, coalesce(t.fix_count, 0) + a.n AS fix_count,
           ST_MakeLine(CASE WHEN t.gid IS NULL THEN a.pts
                            WHEN t.fix_count = 1 THEN ARRAY[ST_PointN(t.geom, 1)] || a.pts
                            ELSE ARRAY(SELECT (ST_DumpPoints(t.geom)).geom) || a.pts
                       END) AS line
    FROM added a
    LEFT JOIN vehicle_tracks t ON t.vehicle_code = a.vehicle_code AND t.day = a.day
)""" + upsert_sql("appended", DISTANCE_KM.format(line="l.line"))


def shanghai_day(t: dt.datetime) -> dt.date:
    return t.astimezone(dt.timezone(dt.timedelta(hours=8))).date()  # no DST since 1991


def day_ends(
    conn, inserted: list[tuple]
) -> dict[tuple[str, dt.date], tuple[dt.datetime, dt.datetime | None]]:
    """(code, day) → (the batch's first fix time that day, the day's track end before the
    batch, None for a new day): read before the tracks move, shared with the trips."""
    first: dict[tuple[str, dt.date], dt.datetime] = {}
    for code, t, *_ in inserted:
        key = (code, shanghai_day(t))
        first[key] = min(first.get(key, t), t)
    return track_ends(conn, first)


def track_ends(
    conn, first: dict[tuple[str, dt.date], dt.datetime]
) -> dict[tuple[str, dt.date], tuple[dt.datetime, dt.datetime | None]]:
    """(code, day) → (its first new fix time as given, the day's track end, None for none)."""
    if not first:
        return {}
    keys = sorted(first)
    with conn.cursor() as cur:
        cur.execute(_ENDS, {"codes": [k[0] for k in keys], "days": [k[1] for k in keys]})
        return {(code, day): (first[(code, day)], ended) for code, day, ended in cur.fetchall()}


def update_tracks(
    conn,
    inserted: list[tuple],
    ends: dict[tuple[str, dt.date], tuple[dt.datetime, dt.datetime | None]] | None = None,
    *,
    move_vehicles: bool = True,
) -> tuple[int, int]:
    """Bring the tracks of the vehicle-days these just inserted (code, fix time, lon, lat,
    …) fell on up to date (the points come with them: no re-read of the partitions);
    `ends` is day_ends() of them when already read; `move_vehicles` False leaves the
    vehicles' latest positions to the feed (no lock on their rows). Returns (vehicle-days appended,
    vehicle-days rebuilt)."""
    if ends is None:
        ends = day_ends(conn, inserted)
    if not ends:
        return 0, 0
    late = {key for key, (first, end) in ends.items() if end is not None and first <= end}
    with conn.cursor() as cur:
        new = [row for row in inserted if (row[0], shanghai_day(row[1])) not in late]
        if new:
            cur.execute(
                _APPEND,
                {
                    "codes": [r[0] for r in new],
                    "ts": [r[1] for r in new],
                    "xs": [r[2] for r in new],
                    "ys": [r[3] for r in new],
                },
            )
    for code, day in sorted(late):
        rebuild_tracks(conn, [code], [day], move_vehicles=move_vehicles)
    return len(ends) - len(late), len(late)
