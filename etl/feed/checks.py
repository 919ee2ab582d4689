"""The feed's checks, in the order a fix is dropped (each counted once, under the first
it fails): invalid, out_of_extent, unknown_vehicle, duplicate (same vehicle and time in
the batch or already stored), impossible_speed (implied speed from the vehicle's
previous fix — batch or stored, whichever is later — above its kind's maximum).

Late fixes are fine: the previous fix is looked up at the fix's own time.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np

from etl.chinese_crs import TO_WGS84
from etl.feed.fix import BadFix, Fix, check_ranges

M_PER_DEG = 111195.08  # as the file import's checks (etl/gps_checks.py)
REASONS = ("invalid", "out_of_extent", "unknown_vehicle", "duplicate", "impossible_speed")


@dataclass
class Candidate:
    """A fix that passed the checks so far, in WGS84, with its vehicle resolved."""

    index: int  # position in the batch
    code: str
    t: dt.datetime
    lon: float
    lat: float
    speed: float | None
    heading: float | None


def to_wgs84(fixes: list[Fix]) -> list[tuple[float, float]]:
    """Each fix's lon/lat in WGS84 (GCJ-02 and BD-09 inverted exactly, vectorised by CRS)."""
    out = [(f.lon, f.lat) for f in fixes]
    for crs, convert in TO_WGS84.items():
        picked = [i for i, f in enumerate(fixes) if f.crs == crs]
        if picked:
            lon, lat = convert(
                np.array([fixes[i].lon for i in picked]), np.array([fixes[i].lat for i in picked])
            )
            for k, i in enumerate(picked):
                out[i] = (float(lon[k]), float(lat[k]))
    return out


def check_values(fix: Fix) -> str | None:
    """Why a Fix built by a caller (not from_payload) is invalid, or None."""
    try:
        if not fix.vehicle or not fix.vehicle.isprintable():
            raise BadFix("vehicle", "missing or with control characters")
        if fix.t.tzinfo is None:
            raise BadFix("t", "must be timezone-aware")
        check_ranges(fix.lon, fix.lat, fix.speed, fix.heading)
    except BadFix as exc:
        return str(exc)
    return None


def in_extent(lon: float, lat: float, extent: tuple[float, float, float, float]) -> bool:
    return extent[0] <= lon <= extent[2] and extent[1] <= lat <= extent[3]


def implied_kmh(a: tuple[dt.datetime, float, float], b: tuple[dt.datetime, float, float]) -> float:
    """Speed implied between two (time, lon, lat) fixes; equirectangular, like the import."""
    seconds = abs((b[0] - a[0]).total_seconds())
    metres = math.hypot((b[1] - a[1]) * math.cos(math.radians(a[2])), b[2] - a[2]) * M_PER_DEG
    return math.inf if seconds == 0 else metres / seconds * 3.6


def judge_speeds(
    cands: list[Candidate],
    stored_prev: dict[int, tuple[dt.datetime, float, float]],
    max_kmh: dict[str, float],
) -> tuple[list[Candidate], list[Candidate]]:
    """(kept, too fast): each fix against the later of its stored previous fix and the
    last kept batch fix before it. cands sorted by (code, t)."""
    kept: list[Candidate] = []
    fast: list[Candidate] = []
    last: tuple[str, tuple[dt.datetime, float, float]] | None = None
    for c in cands:
        prev = stored_prev.get(c.index)
        if last is not None and last[0] == c.code and (prev is None or last[1][0] > prev[0]):
            prev = last[1]
        if prev is not None and implied_kmh(prev, (c.t, c.lon, c.lat)) > max_kmh[c.code]:
            fast.append(c)
            continue
        kept.append(c)
        last = (c.code, (c.t, c.lon, c.lat))
    return kept, fast
