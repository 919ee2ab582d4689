"""Vehicle trips kept up to date as live fixes arrive, without re-reading a vehicle's day.

The rule is `layers/trips.py`'s (numpy `trip_runs`, equal to its SQL). New fixes after
a vehicle-day's last stored fix L change at most the day's last trip and what follows
L, and only the last `stop_minutes` before L can still turn into a stop. So each
vehicle-day is recomputed on a short window read from the table (new fixes included:
they are inserted already), starting at F, with the fix before F as context (its
time and place give F's step; it belongs to no trip) and a run forced to begin at F:

- no stored fix before the batch (a new day): the whole day, its trips inserted;
- the last trip ends at L and started within `stop_minutes` of L: from its start,
  which replaces it;
- the last trip ends at L and started earlier: from the first fix at or after
  L − stop_minutes; the window's first trip continues the stored one (its points
  before F kept, the rest replaced). Should that trip no longer reach L (its
  tail became a stop), the vehicle-day is rebuilt (once per stop, not per fix);
- otherwise (L is stopped, or a one-fix run not yet a trip): the same window, a trip
  forced to begin at L; only trips from L on are new.

A late fix (at or before L) rebuilds its vehicle-day in SQL (`rebuild_trips`), as
tracks do. Every case equals a full rebuild (tests/feed/test_live_trips.py).
Driver-neutral SQL; nothing commits.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict

import numpy as np

from layers.live_tracks import shanghai_day
from layers.tracks import DISTANCE_KM, stage_lines
from layers.trips import _INSERT, _LINE_KINDS, TripRules, line_of, rebuild_trips, trip_runs

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DAY0 = dt.date(1970, 1, 1)

# The day's last trip, and the reported speed of the day's last fix before the batch.
_LAST_TRIP = """
SELECT b.k, t.started_at, t.ended_at, t.fix_count, l.speed_kmh
FROM unnest(%(codes)s::text[], %(days)s::date[], %(ends)s::timestamptz[], %(k)s::int[])
     AS b(code, day, e, k)
JOIN LATERAL (
    SELECT started_at, ended_at, fix_count FROM vehicle_trips t
    WHERE t.vehicle_code = b.code AND t.day = b.day ORDER BY t.started_at DESC LIMIT 1
) t ON true
LEFT JOIN LATERAL (
    SELECT p.speed_kmh FROM vehicle_positions p
    WHERE p.vehicle_code = b.code AND p.fix_time = b.e
      AND p.fix_time >= %(lo)s AND p.fix_time < %(hi)s
) l ON true
"""

# The window of each vehicle-day: the fix before `f` (context) and every fix from `f` to
# the day's end; lo/hi as constants so the planner reads only the days' partitions.
_WINDOW = """
SELECT b.k, w.fix_time, ST_X(w.geom), ST_Y(w.geom), w.speed_kmh, w.ctx
FROM unnest(%(codes)s::text[], %(days)s::date[], %(froms)s::timestamptz[], %(k)s::int[])
     AS b(code, day, f, k)
CROSS JOIN LATERAL (
    (SELECT p.fix_time, p.geom, p.speed_kmh, true AS ctx FROM vehicle_positions p
     WHERE p.vehicle_code = b.code AND p.fix_time < b.f
       AND p.fix_time >= (b.day::timestamp AT TIME ZONE 'Asia/Shanghai')
       AND p.fix_time >= %(lo)s AND p.fix_time < %(hi)s
     ORDER BY p.fix_time DESC LIMIT 1)
    UNION ALL
    (SELECT p.fix_time, p.geom, p.speed_kmh, false FROM vehicle_positions p
     WHERE p.vehicle_code = b.code AND p.fix_time >= b.f
       AND p.fix_time < ((b.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
       AND p.fix_time >= %(lo)s AND p.fix_time < %(hi)s)
) w
ORDER BY b.k, w.fix_time
"""

_DELETE_FROM = """
DELETE FROM vehicle_trips t
USING unnest(%(codes)s::text[], %(days)s::date[], %(froms)s::timestamptz[]) AS b(code, day, f)
WHERE t.vehicle_code = b.code AND t.day = b.day AND t.started_at >= b.f
"""

# The stored trip `started_at` continued: its first `keep` points, then the window's.
# One row per new point, the trip's fields repeated: grouped, then joined by the index
# (a join of two unnests would be planned as a nested loop over the aggregate).
_CONTINUE = (
    """
WITH seg AS (
    SELECT code, day, started_at, ended_at, replaced, n, top,
           array_agg(ST_SetSRID(ST_MakePointM(x, y, m), 4326) ORDER BY m) AS pts
    FROM unnest(%(codes)s::text[], %(days)s::date[], %(starts)s::timestamptz[],
                %(ends)s::timestamptz[], %(replaced)s::int[], %(counts)s::int[],
                %(tops)s::float8[], %(xs)s::float8[], %(ys)s::float8[], %(ms)s::float8[])
         AS u(code, day, started_at, ended_at, replaced, n, top, x, y, m)
    GROUP BY code, day, started_at, ended_at, replaced, n, top
), c AS (
    SELECT t.gid, seg.ended_at, t.fix_count - seg.replaced + seg.n AS fix_count,
           GREATEST(t.max_speed_kmh, seg.top) AS top,
           ST_SetSRID(ST_MakeLine(
               ARRAY(SELECT d.geom FROM ST_DumpPoints(t.geom) d
                     WHERE d.path[1] <= t.fix_count - seg.replaced ORDER BY d.path[1])
               || seg.pts), 4326) AS line
    FROM seg
    JOIN vehicle_trips t
      ON t.vehicle_code = seg.code AND t.day = seg.day AND t.started_at = seg.started_at
)
UPDATE vehicle_trips t
SET ended_at = c.ended_at, fix_count = c.fix_count, max_speed_kmh = c.top, geom = c.line,
    distance_km = """
    + DISTANCE_KM.format(line="c.line")
    + """, updated_at = now()
FROM c WHERE t.gid = c.gid
"""
)

_STAGED = "_onemap_live_trip_lines"


def _us(t: dt.datetime) -> int:
    return (t - EPOCH) // dt.timedelta(microseconds=1)


def _time(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=int(us))


def _day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(day, dt.time(), dt.timezone(dt.timedelta(hours=8)))
    return start, start + dt.timedelta(days=1)


def update_trips(
    conn,
    ends: dict[tuple[str, dt.date], tuple[dt.datetime, dt.datetime | None]],
    rules: TripRules | None = None,
    fixes: list[tuple[str, dt.datetime, float, float, float | None]] | None = None,
) -> tuple[int, int]:
    """Bring the trips of these vehicle-days ((code, day) → (first new fix time, the
    day's last fix time before the batch or None)) up to date, the batch's fixes being
    inserted already. `fixes` (code, time, lon, lat, speed) are the batch's, for the
    fast path: a trip still open at L, L and every new fix moving by its reported
    speed, no gap — the trip just grows, nothing is read. Returns (vehicle-days
    updated without a rebuild, vehicle-days rebuilt)."""
    rules = rules or TripRules()
    late = {key for key, (first, end) in ends.items() if end is not None and first <= end}
    keys = sorted(key for key in ends if key not in late)
    new: dict[tuple[str, dt.date], list[tuple]] = defaultdict(list)
    for code, t, x, y, speed in sorted(fixes or [], key=lambda f: (f[0], f[1])):
        new[(code, shanghai_day(t))].append((t, x, y, speed))
    rebuild: set[tuple[str, dt.date]] = set(late)
    if keys:
        rebuild |= _windowed(conn, keys, {k: ends[k][1] for k in keys}, new, rules)
    by_day: dict[dt.date, list[str]] = defaultdict(list)
    for code, day in sorted(rebuild):
        by_day[day].append(code)
    for day, codes in by_day.items():
        rebuild_trips(
            conn,
            codes,
            [day],
            stop_minutes=rules.stop_minutes,
            gap_minutes=rules.gap_minutes,
            stop_speed_kmh=rules.stop_speed_kmh,
        )
    return len(keys) - len(rebuild - late), len(rebuild)


def _grows(end: dt.datetime, end_speed, new: list[tuple], rules: TripRules) -> bool:
    """The fast path's condition: L and the new fixes moving, no gap between them."""
    if end_speed is None or end_speed < rules.stop_speed_kmh or not new:
        return False
    gap = dt.timedelta(microseconds=round(rules.gap_minutes * 60e6))
    prev = end
    for t, _x, _y, speed in new:
        if speed is None or speed < rules.stop_speed_kmh or t - prev > gap:
            return False
        prev = t
    return True


def _windowed(
    conn,
    keys: list[tuple[str, dt.date]],
    prior: dict[tuple[str, dt.date], dt.datetime | None],
    new: dict[tuple[str, dt.date], list[tuple]],
    rules: TripRules,
) -> set[tuple[str, dt.date]]:
    """The window update of these vehicle-days; returns those that need a rebuild."""
    stop = dt.timedelta(minutes=rules.stop_minutes)
    codes, days = [k[0] for k in keys], [k[1] for k in keys]
    bounds = [_day_bounds(d) for d in days]
    lo_hi = {"lo": min(b[0] for b in bounds), "hi": max(b[1] for b in bounds)}
    cont: list[tuple] = []  # (key index, xs, ys, ms, top, ended_at, rows replaced)
    with conn.cursor() as cur:
        cur.execute(
            _LAST_TRIP,
            {
                "codes": codes,
                "days": days,
                "ends": [prior[k] for k in keys],
                "k": list(range(len(keys))),
                **lo_hi,
            },
        )
        last = {k: (s, e, n, sp) for k, s, e, n, sp in cur.fetchall()}
        mode, froms, win = [], [], []
        for i, key in enumerate(keys):
            end, trip = prior[key], last.get(i)
            if end is None:
                mode.append("new")
                froms.append(_day_bounds(key[1])[0])
            elif trip is not None and trip[1] == end and _grows(end, trip[3], new[key], rules):
                pts = new[key]
                speeds = [p[3] for p in pts]
                xs, ys = [p[1] for p in pts], [p[2] for p in pts]
                ms = [_us(p[0]) / 1e6 for p in pts]
                cont.append((i, xs, ys, ms, max(speeds), pts[-1][0], 0))
                mode.append("grown")
                froms.append(None)
                continue
            elif trip is not None and trip[1] == end and trip[0] >= end - stop:
                mode.append("restart")
                froms.append(trip[0])
            elif trip is not None and trip[1] == end:
                mode.append("continue")
                froms.append(end - stop)
            else:
                mode.append("tail")
                froms.append(end - stop)
            win.append(i)
        lines: list[tuple] = []
        rebuild: set[tuple[str, dt.date]] = set()
        if win:
            lines, more, rebuild = _window_lines(cur, keys, prior, mode, froms, win, lo_hi, rules)
            cont.extend(more)
        if cont:
            _continue(cur, cont, keys, last)
        if lines:
            columns = (
                "vehicle_code text, day date, started_at timestamptz, ended_at timestamptz, "
                "fix_count integer, max_speed_kmh double precision, line geometry"
            )
            stage_lines(cur, _STAGED, columns, _LINE_KINDS, lines)
            cur.execute(_INSERT.format(lines=_STAGED, distance=DISTANCE_KM.format(line="l.line")))
    return rebuild


def _window_lines(cur, keys, prior, mode, froms, win, lo_hi, rules):
    """Read the windows of the vehicle-days `win` (indexes into keys), run the rule on
    them; returns (new trip lines, continued trips, vehicle-days to rebuild). Deletes
    the trips the windows replace."""
    cur.execute(
        _WINDOW,
        {
            "codes": [keys[i][0] for i in win],
            "days": [keys[i][1] for i in win],
            "froms": [froms[i] for i in win],
            "k": win,
            **lo_hi,
        },
    )
    rows = cur.fetchall()
    lines: list[tuple] = []
    cont: list[tuple] = []
    rebuild: set[tuple[str, dt.date]] = set()
    deletes = [i for i in win if mode[i] in ("new", "restart")]
    if deletes:
        cur.execute(
            _DELETE_FROM,
            {
                "codes": [keys[i][0] for i in deletes],
                "days": [keys[i][1] for i in deletes],
                "froms": [froms[i] for i in deletes],
            },
        )
    if not rows:
        return lines, cont, rebuild
    k = np.array([r[0] for r in rows], np.int64)
    t_us = np.array([_us(r[1]) for r in rows], np.int64)
    xym = np.column_stack(
        (
            np.array([r[2] for r in rows], np.float64),
            np.array([r[3] for r in rows], np.float64),
            t_us / 1e6,
        )
    )
    speed = np.array([np.nan if r[4] is None else r[4] for r in rows], np.float64)
    ctx = np.array([r[5] for r in rows], bool)
    first = np.ones(len(rows), bool)
    first[1:] = k[1:] != k[:-1]
    cut = np.zeros(len(rows), bool)
    cut[1:] = ctx[:-1] & ~first[1:]
    group_lo = np.flatnonzero(first)
    group_hi = np.append(group_lo[1:], len(rows))
    begin = np.zeros(len(rows), bool)
    for a, b in zip(group_lo.tolist(), group_hi.tolist(), strict=True):
        i = int(k[a])
        if mode[i] == "tail":
            begin[a:b] = t_us[a:b] == _us(prior[keys[i]])
    runs = trip_runs(first, t_us, xym, speed, rules, cut=cut, begin=begin, skip=ctx)
    day_idx = np.array([(keys[i][1] - _DAY0).days for i in k.tolist()], np.int64)
    codes = [key[0] for key in keys]
    by_key: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for lo, hi in runs:
        by_key[int(k[lo])].append((lo, hi))
    for a in group_lo.tolist():
        i = int(k[a])
        segs, m = by_key.get(i, []), mode[i]
        if m in ("new", "restart"):
            fresh = segs
        elif m == "tail":
            fresh = [s for s in segs if t_us[s[0]] >= _us(prior[keys[i]])]
        else:  # continue
            f = a + 1 if ctx[a] else a
            end_us = _us(prior[keys[i]])
            if not segs or segs[0][0] != f or t_us[segs[0][1] - 1] < end_us:
                rebuild.add(keys[i])
                continue
            lo, hi = segs[0]
            part = speed[lo:hi]
            cont.append(
                (
                    i,
                    xym[lo:hi, 0].tolist(),
                    xym[lo:hi, 1].tolist(),
                    xym[lo:hi, 2].tolist(),
                    None if np.isnan(part).all() else float(np.nanmax(part)),
                    _time(t_us[hi - 1]),
                    int(np.count_nonzero(t_us[lo:hi] <= end_us)),
                )
            )
            fresh = segs[1:]
        lines.extend(
            line_of(codes, k, day_idx, t_us, xym, speed, lo, hi) for lo, hi in fresh if hi - lo >= 2
        )
    return lines, cont, rebuild


def _continue(cur, cont, keys, last) -> None:
    """The continued trips: one UPDATE for all of them (a row per new point)."""
    cols: dict[str, list] = {n: [] for n in ("codes", "days", "starts", "ends", "replaced",
                                             "counts", "tops", "xs", "ys", "ms")}  # fmt: skip
    for i, xs, ys, ms, top, ended, replaced in cont:
        n = len(xs)
        for name, value in (
            ("codes", keys[i][0]),
            ("days", keys[i][1]),
            ("starts", last[i][0]),
            ("ends", ended),
            ("replaced", replaced),
            ("counts", n),
            ("tops", top),
        ):
            cols[name].extend([value] * n)
        cols["xs"].extend(xs)
        cols["ys"].extend(ys)
        cols["ms"].extend(ms)
    cur.execute(_CONTINUE, cols)
