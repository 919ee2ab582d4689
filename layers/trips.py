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
from dataclasses import dataclass

import numpy as np

from layers.dbapi import Connection
from layers.pgbinary import linestring_m, runs
from layers.tracks import DISTANCE_KM, stage_lines

# What a trip row is, given lines(vehicle_code, day, started_at, ended_at, fix_count,
# max_speed_kmh, line): the one definition both builders below feed.
_INSERT = """
INSERT INTO vehicle_trips (code, vehicle_code, day, started_at, ended_at, fix_count,
                           distance_km, max_speed_kmh, geom)
SELECT vehicle_code || '-' || to_char(started_at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDDHH24MISS'),
       vehicle_code, day, started_at, ended_at, fix_count,
       {distance}, max_speed_kmh, ST_SetSRID(line, 4326)
FROM {lines} l
"""

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
    SELECT vehicle_code, %(day)s::date AS day, min(fix_time) AS started_at,
           max(fix_time) AS ended_at, count(*) AS fix_count, max(speed_kmh) AS max_speed_kmh,
           ST_MakeLine(ST_MakePointM(ST_X(geom), ST_Y(geom), extract(epoch FROM fix_time))
                       ORDER BY fix_time) AS line
    FROM t GROUP BY vehicle_code, trip_no HAVING count(*) >= 2
)""" + _INSERT.replace("{lines}", "lines").replace(
    "{distance}", DISTANCE_KM.format(line="line")
).replace("%", "%%")


def rebuild_trips(
    conn: Connection,
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


@dataclass(frozen=True)
class TripRules:
    """How trips split: still below stop_speed_kmh for stop_minutes, or a gap_minutes gap."""

    stop_minutes: float = 5.0
    gap_minutes: float = 10.0
    stop_speed_kmh: float = 3.0


WGS84_RADIUS = (2.0 * 6378137.0 + 6356752.314245179497563967) / 3.0  # as ST_DistanceSphere
_STAGED = "_onemap_trip_lines"
_LINE_KINDS = ("text", "date", "tstz", "tstz", "int4", "float8", "bytes")


def sphere_m(x0: np.ndarray, y0: np.ndarray, x1: np.ndarray, y1: np.ndarray) -> np.ndarray:
    """Great-circle metres between lon/lat points, by PostGIS's sphere_distance formula."""
    lon0, lat0, lon1, lat1 = (np.radians(a) for a in (x0, y0, x1, y1))
    d_lon = lon1 - lon0
    a1 = (np.cos(lat1) * np.sin(d_lon)) ** 2
    a2 = (np.cos(lat0) * np.sin(lat1) - np.sin(lat0) * np.cos(lat1) * np.cos(d_lon)) ** 2
    b = np.sin(lat0) * np.sin(lat1) + np.cos(lat0) * np.cos(lat1) * np.cos(d_lon)
    return WGS84_RADIUS * np.arctan2(np.sqrt(a1 + a2), b)


def _shift(a: np.ndarray, fill) -> np.ndarray:
    out = np.empty_like(a)
    if len(a):
        out[0] = fill
        out[1:] = a[:-1]
    return out


def _stopped(
    first: np.ndarray,
    t_us: np.ndarray,
    xym: np.ndarray,
    speed: np.ndarray,
    rules: TripRules,
    cut: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per fix: stopped (in a still run lasting stop_minutes) and gap (feed gap before it).
    `cut` forces a run to begin at those fixes (a window of a day read from the middle)."""
    dt = t_us - _shift(t_us, 0)
    kmh = speed.astype(np.float64)
    implied = np.flatnonzero(np.isnan(speed) & ~first & (dt != 0))  # speed NULL: from the step
    step = sphere_m(xym[implied - 1, 0], xym[implied - 1, 1], xym[implied, 0], xym[implied, 1])
    kmh[implied] = step / (dt[implied] / 1e6) * 3.6
    still = np.nan_to_num(kmh, nan=0.0) < rules.stop_speed_kmh
    gap = ~first & (dt > round(rules.gap_minutes * 60e6))
    change = first | gap | (still != _shift(still, False))
    if cut is not None:
        change |= cut
    starts = np.flatnonzero(change)
    ends = np.append(starts[1:], len(t_us)) - 1
    ref = np.where(first[starts], t_us[starts], t_us[starts - 1])
    long_enough = (t_us[ends] - ref) >= round(rules.stop_minutes * 60e6)
    return still & long_enough[np.cumsum(change) - 1], gap


def trip_runs(
    first: np.ndarray,
    t_us: np.ndarray,
    xym: np.ndarray,
    speed: np.ndarray,
    rules: TripRules,
    *,
    cut: np.ndarray | None = None,
    begin: np.ndarray | None = None,
    skip: np.ndarray | None = None,
) -> list[tuple[int, int]]:
    """[lo, hi) of every run of fixes that is a trip by the rule of _TRIPS (one-fix runs
    included: they are no trip, but a live day's next fix may extend them), from fixes
    sorted by (vehicle, day, time) with `first` marking each vehicle-day's first fix.
    For windows of a day (`layers/live_trips.py`): `cut` forces a run to begin, `begin`
    a trip to begin, and `skip` fixes (context) belong to no trip."""
    stopped, gap = _stopped(first, t_us, xym, speed, rules, cut)
    starts = gap | (~first & _shift(stopped, False)) | first
    if begin is not None:
        starts |= begin
    kept = ~stopped if skip is None else ~stopped & ~skip
    idx = np.flatnonzero(kept)
    if not len(idx):
        return []
    split = starts[idx]
    split[1:] |= np.diff(idx) != 1  # a fix left out ends a trip (a stop is always followed
    split[0] = True  # by a start; a skipped context fix may not be)
    lo = idx[split]
    hi = np.append(idx[np.flatnonzero(split)[1:] - 1], idx[-1]) + 1
    return list(zip(lo.tolist(), hi.tolist(), strict=True))


def line_of(
    codes: list[str],
    code_idx: np.ndarray,
    day: np.ndarray,
    t_us: np.ndarray,
    xym: np.ndarray,
    speed: np.ndarray,
    lo: int,
    hi: int,
) -> tuple:
    """(vehicle_code, day, started_at, ended_at, fix_count, max_speed_kmh, line) of fixes [lo, hi)."""
    top = np.nanmax(speed[lo:hi]) if not np.isnan(speed[lo:hi]).all() else None
    return (
        codes[code_idx[lo]],
        day[lo],
        t_us[lo],
        t_us[hi - 1],
        hi - lo,
        None if top is None else float(top),
        linestring_m(xym[lo:hi]),
    )


def trip_lines(
    codes: list[str],
    code_idx: np.ndarray,
    day: np.ndarray,
    t_us: np.ndarray,
    xym: np.ndarray,
    speed: np.ndarray,
    rules: TripRules,
) -> list[tuple]:
    """(vehicle_code, day, started_at, ended_at, fix_count, max_speed_kmh, line) per trip,
    from all fixes of some vehicle days sorted by (vehicle, time): the rule of _TRIPS."""
    first = np.zeros(len(t_us), bool)
    first[runs(code_idx, day)[:-1]] = True
    return [
        line_of(codes, code_idx, day, t_us, xym, speed, lo, hi)
        for lo, hi in trip_runs(first, t_us, xym, speed, rules)
        if hi - lo >= 2
    ]


def vehicle_days(
    codes: list[str], code_idx: np.ndarray, day: np.ndarray
) -> tuple[list[str], list[int]]:
    """The (vehicle code, day) pairs of fixes sorted by vehicle and day, as two lists."""
    bounds = runs(code_idx, day)[:-1]
    return [codes[i] for i in code_idx[bounds]], [int(d) for d in day[bounds]]


def write_trips(
    conn: Connection,
    pairs: tuple[list[str], list[int]],
    lines: list[tuple],
    distance_km: list[float],
) -> int:
    """Replace the trips of these vehicle days (vehicle_days()) by trip_lines() of all their
    fixes and the lines' line_lengths_km(): the rows rebuild_trips makes, without
    re-reading the fixes. Does not commit."""
    columns = (
        "vehicle_code text, day date, started_at timestamptz, ended_at timestamptz, "
        "fix_count integer, max_speed_kmh double precision, line geometry, "
        "distance_km double precision"
    )
    rows = [(*line, km) for line, km in zip(lines, distance_km, strict=True)]
    with conn.cursor() as cur:
        cur.execute(
            "DELETE FROM vehicle_trips t USING unnest(%s::text[], %s::int[]) u(code, d) "
            "WHERE t.vehicle_code = u.code AND t.day = date '1970-01-01' + u.d",
            pairs,
        )
        stage_lines(cur, _STAGED, columns, (*_LINE_KINDS, "float8"), rows)
        cur.execute(_INSERT.format(lines=_STAGED, distance="l.distance_km"))
        return cur.rowcount
