"""Day tracks kept up to date as live fixes arrive, without rebuilding them from scratch.

The rule is the one of `layers/tracks.py` (one LineStringM per vehicle and
Asia/Shanghai day, M = epoch seconds, a one-fix day its point twice); a batch's
fixes that all come after a vehicle-day's track end are appended to it; a late
fix (at or before the end) rebuilds only its vehicle-day from the table. Either
way the row equals what a full rebuild gives. Driver-neutral SQL; nothing commits.
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
    SELECT p.vehicle_code, (p.fix_time AT TIME ZONE 'Asia/Shanghai')::date AS day,
           p.fix_time, p.geom
    FROM unnest(%(codes)s::text[], %(ts)s::timestamptz[]) AS b(code, t)
    JOIN vehicle_positions p ON p.vehicle_code = b.code AND p.fix_time = b.t
), added AS (
    SELECT vehicle_code, day, min(fix_time) AS s, max(fix_time) AS e, count(*) AS n,
           array_agg(ST_SetSRID(ST_MakePointM(ST_X(geom), ST_Y(geom),
                                              extract(epoch FROM fix_time)), 4326)
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


def update_tracks(conn, inserted: list[tuple[str, dt.datetime]]) -> tuple[int, int]:
    """Bring the tracks of the vehicle-days these (code, fix time) pairs fell on up to
    date; returns (vehicle-days appended, vehicle-days rebuilt)."""
    if not inserted:
        return 0, 0
    first: dict[tuple[str, dt.date], dt.datetime] = {}
    for code, t in inserted:
        key = (code, shanghai_day(t))
        first[key] = min(first.get(key, t), t)
    keys = sorted(first)
    late: set[tuple[str, dt.date]] = set()
    with conn.cursor() as cur:
        cur.execute(_ENDS, {"codes": [k[0] for k in keys], "days": [k[1] for k in keys]})
        for code, day, ended in cur.fetchall():
            if ended is not None and first[(code, day)] <= ended:
                late.add((code, day))
        pairs = [(c, t) for c, t in inserted if (c, shanghai_day(t)) not in late]
        if pairs:
            cur.execute(_APPEND, {"codes": [p[0] for p in pairs], "ts": [p[1] for p in pairs]})
    for code, day in sorted(late):
        rebuild_tracks(conn, [code], [day])
    return len(keys) - len(late), len(late)
