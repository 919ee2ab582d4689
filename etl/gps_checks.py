"""The GPS checks, vectorised: invalid and out-of-extent fixes, duplicates and jumps.

Every vehicle's batch fixes and the stored fixes among them (plus the last stored
fix before the batch) form one time line sorted by (vehicle, time, stored first),
judged in one pass of shifted arrays: a duplicate has the time of the entry
before it; a jump is too fast from the previous fix or, when that fix was
itself a lone spike (too fast in and too fast out), too fast from the one before
it. Dropped fixes stay in the line as neighbours, as they did in SQL.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from etl.gps_read import Fixes

OK, INVALID, OUT_OF_EXTENT = 0, 1, 2
M_PER_DEG = 111195.08

_STORED = """
COPY (
    WITH span AS (
        SELECT code, 'epoch'::timestamptz + lo * interval '1 microsecond' AS lo,
               'epoch'::timestamptz + hi * interval '1 microsecond' AS hi
        FROM unnest({codes}::text[], {los}::bigint[], {his}::bigint[]) AS s(code, lo, hi)
    ), stored AS (
        SELECT p.vehicle_code, p.fix_time, p.geom
        FROM span s JOIN vehicle_positions p
          ON p.vehicle_code = s.code AND p.fix_time BETWEEN s.lo AND s.hi
        UNION ALL
        SELECT s.code, b.fix_time, b.geom
        FROM span s CROSS JOIN LATERAL (
            SELECT p.fix_time, p.geom FROM vehicle_positions p
            WHERE p.vehicle_code = s.code AND p.fix_time < s.lo
            ORDER BY p.fix_time DESC LIMIT 1) b
    )
    SELECT vehicle_code, (extract(epoch FROM fix_time) * 1000000)::bigint, ST_X(geom), ST_Y(geom)
    FROM stored
) TO STDOUT WITH (FORMAT csv)
"""


@dataclass
class Verdict:
    """Per batch fix (rows of the checked batch): duplicate, jump."""

    dup: np.ndarray
    jump: np.ndarray


def classify(f: Fixes, extent: tuple[float, float, float, float]) -> np.ndarray:
    """OK, INVALID (no code, time or coordinates; out of range) or OUT_OF_EXTENT per fix."""
    invalid = (f.code_idx < 0) | ~f.has_time
    invalid |= ~((f.lon >= -180) & (f.lon <= 180) & (f.lat >= -90) & (f.lat <= 90))
    x0, y0, x1, y1 = extent
    inside = (f.lon >= x0) & (f.lon <= x1) & (f.lat >= y0) & (f.lat <= y1)
    return np.where(invalid, INVALID, np.where(inside, OK, OUT_OF_EXTENT)).astype(np.int8)


def stored_fixes(cur, f: Fixes) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Stored fixes within each vehicle's batch time span, and the last one before it:
    (code_idx, t_us, lon, lat)."""
    present = np.unique(f.code_idx)
    lo = np.full(len(f.codes), np.iinfo(np.int64).max)
    hi = np.full(len(f.codes), np.iinfo(np.int64).min)
    np.minimum.at(lo, f.code_idx, f.t_us)
    np.maximum.at(hi, f.code_idx, f.t_us)
    query = cur.mogrify(
        _STORED.format(codes="%s", los="%s", his="%s"),
        ([f.codes[i] for i in present], lo[present].tolist(), hi[present].tolist()),
    ).decode()
    out = io.BytesIO()
    cur.copy_expert(query, out)
    if not out.getvalue():
        empty = np.empty(0)
        return np.empty(0, np.int32), np.empty(0, np.int64), empty, empty
    out.seek(0)
    table = pacsv.read_csv(
        out,
        read_options=pacsv.ReadOptions(column_names=["code", "t", "x", "y"]),
        convert_options=pacsv.ConvertOptions(
            column_types={
                "code": pa.string(),
                "t": pa.int64(),
                "x": pa.float64(),
                "y": pa.float64(),
            }
        ),
    )
    position = {c: i for i, c in enumerate(f.codes)}
    idx = np.array([position[c] for c in table.column("code").to_pylist()], dtype=np.int32)
    return (
        idx,
        table.column("t").to_numpy(),
        table.column("x").to_numpy(),
        table.column("y").to_numpy(),
    )


def _kmh(ax, ay, at, bx, by, bt) -> np.ndarray:
    """Implied speed between two fixes (equirectangular: exact enough over a few km);
    NaN when they share a time."""
    dt = bt - at
    with np.errstate(divide="ignore", invalid="ignore"):
        metres = np.sqrt(((bx - ax) * np.cos(np.radians(ay))) ** 2 + (by - ay) ** 2) * M_PER_DEG
        return np.where(dt != 0, metres / dt * 3.6, np.nan)


def _lag(a: np.ndarray, k: int, fill) -> np.ndarray:
    out = np.empty_like(a)
    out[:k] = fill
    out[k:] = a[:-k] if k < len(a) else a[:0]
    return out


def judge(
    f: Fixes,
    max_kmh: np.ndarray,
    stored: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> Verdict:
    """Duplicates and jumps of the batch f (checked fixes, sorted by vehicle and time, ties in
    file order) among the stored fixes; max_kmh is the fastest believable speed per code index."""
    s_idx, s_t, s_x, s_y = stored
    n = len(f)
    vid, t, x, y = f.code_idx, f.t_us, f.lon, f.lat
    new = np.ones(n, bool)
    order = None
    if len(s_idx):  # merge the stored fixes in, stored first at equal times
        vid, t = np.concatenate([vid, s_idx]), np.concatenate([t, s_t])
        x, y = np.concatenate([x, s_x]), np.concatenate([y, s_y])
        new = np.arange(len(vid)) < n
        order = np.lexsort((new, t, vid))
        vid, t, x, y, new = vid[order], t[order], x[order], y[order], new[order]
    ts = t / 1e6
    same1 = _lag(vid, 1, -1) == vid
    limit = max_kmh[vid]
    v_in = np.where(
        same1, _kmh(_lag(x, 1, 0.0), _lag(y, 1, 0.0), _lag(ts, 1, 0.0), x, y, ts), np.nan
    )
    # the previous fix was a lone spike: too fast in (its own v_in) and too fast out
    spike = np.flatnonzero(
        same1 & _lag(new, 1, False) & (_lag(v_in, 1, np.nan) > limit) & (v_in > limit)
    )
    too_fast = v_in > limit
    skip = spike[spike >= 2]
    too_fast[skip] = (
        _kmh(x[skip - 2], y[skip - 2], ts[skip - 2], x[skip], y[skip], ts[skip]) > limit[skip]
    )
    jump = new & too_fast
    dup = new & same1 & (_lag(t, 1, 0) == t)
    if order is not None:
        back = np.empty(len(order), np.int64)
        back[order] = np.arange(len(order))
        dup, jump = dup[back[:n]], jump[back[:n]]
    return Verdict(dup=dup, jump=jump & ~dup)
