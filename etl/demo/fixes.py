"""GPS fixes: every 10 s over each vehicle's shift, for the 3 days ending at the anchor.

All vehicle-days walk at once (numpy across vehicle-days, a Python loop only
over waypoints): the next waypoint keeps the heading with some noise, and a
leg is taken only if the straight line stays inside the vehicle's work area
(its town's land, or the river channel for boats); otherwise the heading is
re-drawn, turning round if need be. Vehicles dwell at waypoints (bin
pick-ups, loading, lights). Fixes are then interpolated along the
waypoint timeline, so speed and heading agree with the positions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import shapely

from etl.demo.geography import to_lonlat_xy
from etl.demo.vehicles import Fleet

DAYS = 3
INTERVAL_S = 10
FIXES_PER_DAY = 1330  # ≈ 3.7 h shift


@dataclass(frozen=True)
class Motion:
    speed_kmh: tuple[float, float]
    leg_m: tuple[float, float]
    turn_deg: float
    stop_p: float  # chance of a short stop at a waypoint
    stop_s: tuple[float, float]
    long_p: float  # chance of a long stop (loading, transfer station, break)
    long_s: tuple[float, float]
    shift_start_h: tuple[float, ...]  # possible shift starts (local hour)


MOTION = {
    "sanitation": Motion((12, 30), (150, 700), 35, 0.6, (30, 180), 0.03, (600, 1500), (5.0,)),
    "sweeper": Motion((5, 12), (200, 800), 20, 0.2, (10, 60), 0.02, (300, 900), (4.5, 13.0)),
    "muck": Motion((25, 50), (800, 2500), 30, 0.1, (20, 90), 0.08, (480, 1200), (8.5,)),
    "patrol_boat": Motion((12, 28), (800, 2500), 15, 0.1, (60, 300), 0.04, (600, 1800), (8.5,)),
    # fishing boats go out in the evening (some stay into the 禁捕区 night), ships all day
    "fishing_boat": Motion(
        (6, 15), (500, 1500), 25, 0.3, (120, 600), 0.05, (600, 1800), (17.0, 18.5)
    ),
    "cargo_ship": Motion(
        (10, 20), (1500, 4000), 8, 0.05, (60, 300), 0.02, (600, 1200), (6.0, 14.0)
    ),
}


@dataclass(frozen=True)
class Fixes:
    vehicle: np.ndarray  # index into Fleet
    epoch: np.ndarray  # seconds since 1970 (UTC)
    lon: np.ndarray
    lat: np.ndarray
    speed_kmh: np.ndarray
    heading: np.ndarray

    def __len__(self) -> int:
        return len(self.epoch)

    def before(self, until: dt.datetime | None) -> Fixes:
        """Only the fixes stamped before `until`: a live demo has no fixes from the future."""
        if until is None:
            return self
        keep = self.epoch < int(until.timestamp())
        return Fixes(*(getattr(self, f)[keep] for f in _FIELDS))


_FIELDS = ("vehicle", "epoch", "lon", "lat", "speed_kmh", "heading")


def _param(fleet_kind: np.ndarray, vd_vehicle: np.ndarray, field: str) -> np.ndarray:
    values = np.array([getattr(MOTION[k], field) for k in fleet_kind], dtype=float)
    return values[vd_vehicle]


def _legs(rng, area, x, y, heading, lo, hi, turn):  # noqa: ANN001, ANN202
    """Next waypoint for every vehicle-day; stays put where no leg fits."""
    n = len(x)
    nx, ny, nh = x.copy(), y.copy(), heading.copy()
    todo = np.ones(n, bool)
    for attempt in range(12):
        idx = np.flatnonzero(todo)
        if not len(idx):
            break
        if attempt < 6:
            h = heading[idx] + rng.normal(0, 1, len(idx)) * turn[idx] * (1 + attempt)
        else:
            h = rng.uniform(0, 360, len(idx))
        length = rng.uniform(lo[idx], hi[idx])
        cx = x[idx] + length * np.sin(np.radians(h))
        cy = y[idx] + length * np.cos(np.radians(h))
        lines = shapely.linestrings(
            np.stack([np.column_stack([x[idx], y[idx]]), np.column_stack([cx, cy])], axis=1)
        )
        ok = shapely.contains(area[idx], lines)
        take = idx[ok]
        nx[take], ny[take], nh[take] = cx[ok], cy[ok], h[ok] % 360
        todo[take] = False
    return nx, ny, nh


def _timeline(rng: np.random.Generator, fleet: Fleet, vd_vehicle: np.ndarray, horizon: np.ndarray):  # noqa: ANN202
    """Knots (time, x, y) with per-interval speed/heading; rows are vehicle-days."""
    kind = fleet.kind
    p = {f: _param(kind, vd_vehicle, f) for f in ("turn_deg", "stop_p", "long_p")}
    for f in ("speed_kmh", "leg_m", "stop_s", "long_s"):
        arr = np.array([getattr(MOTION[k], f) for k in kind], dtype=float)[vd_vehicle]
        p[f + "_lo"], p[f + "_hi"] = arr[:, 0], arr[:, 1]
    area = fleet.area[vd_vehicle]
    n = len(vd_vehicle)
    x, y = fleet.start_x[vd_vehicle].copy(), fleet.start_y[vd_vehicle].copy()
    heading = rng.uniform(0, 360, n)
    t = rng.uniform(30, 600, n)  # warm-up at the depot
    ts, xs, ys, spd, hdg = [np.zeros(n), t.copy()], [x, x], [y, y], [np.zeros(n)], [heading]
    while (t <= horizon).any():
        nx, ny, nh = _legs(rng, area, x, y, heading, p["leg_m_lo"], p["leg_m_hi"], p["turn_deg"])
        dist = np.hypot(nx - x, ny - y)
        speed = rng.uniform(p["speed_kmh_lo"], p["speed_kmh_hi"])
        travel = np.maximum(dist / (speed / 3.6), 1.0)
        u = rng.random(n)
        dwell = np.where(
            u < p["long_p"],
            rng.uniform(p["long_s_lo"], p["long_s_hi"]),
            np.where(
                u < p["long_p"] + p["stop_p"], rng.uniform(p["stop_s_lo"], p["stop_s_hi"]), 1.0
            ),
        )
        spd += [np.where(dist > 0, dist / travel * 3.6, 0.0), np.zeros(n)]
        hdg += [nh, nh]
        t = t + travel
        ts.append(t.copy())
        t = t + dwell
        ts.append(t.copy())
        xs += [nx, nx]
        ys += [ny, ny]
        x, y, heading = nx, ny, nh
    return (np.column_stack(a) for a in (ts, xs, ys, spd, hdg))


def build_fixes(rng: np.random.Generator, fleet: Fleet, anchor: dt.date) -> Fixes:
    """Fixes of every vehicle for the DAYS days ending at `anchor` (Asia/Shanghai)."""
    n_v = len(fleet.code)
    vd_vehicle = np.tile(np.arange(n_v), DAYS)
    vd_day = np.repeat(np.arange(DAYS), n_v)
    n_fix = np.clip(rng.normal(FIXES_PER_DAY, 60, len(vd_vehicle)), 900, 1700).astype(int)
    horizon = n_fix * INTERVAL_S
    starts = [rng.choice(MOTION[k].shift_start_h) for k in fleet.kind[vd_vehicle]]
    start_h = np.array(starts) + rng.normal(0, 0.3, len(vd_vehicle))
    first_day = anchor - dt.timedelta(days=DAYS - 1)
    midnight = dt.datetime(first_day.year, first_day.month, first_day.day, tzinfo=dt.UTC)
    day0 = midnight.timestamp() - 8 * 3600  # Asia/Shanghai midnight of the first day
    shift_start = np.round(day0 + vd_day * 86400 + start_h * 3600)

    kt, kx, ky, kspd, khdg = _timeline(rng, fleet, vd_vehicle, horizon)
    big = 10.0**6  # > any shift: lets one np.interp serve every vehicle-day
    offset = np.arange(len(vd_vehicle)) * big
    flat_t = (kt + offset[:, None]).ravel()
    rel = np.concatenate([np.arange(m) * INTERVAL_S for m in n_fix]).astype(float)
    row = np.repeat(np.arange(len(vd_vehicle)), n_fix)
    gt = rel + offset[row]
    x = np.interp(gt, flat_t, kx.ravel())
    y = np.interp(gt, flat_t, ky.ravel())
    interval = np.searchsorted(flat_t, gt, side="right") - 1
    col = interval - row * kt.shape[1]
    speed = kspd[row, np.minimum(col, kspd.shape[1] - 1)]
    moving = speed > 0
    speed = np.where(moving, speed * rng.normal(1.0, 0.06, len(speed)), 0.0)
    heading = khdg[row, np.minimum(col, khdg.shape[1] - 1)]
    lon, lat = to_lonlat_xy(x, y)
    return Fixes(
        vehicle=vd_vehicle[row],
        epoch=(shift_start[row] + rel).astype(np.int64),
        lon=lon,
        lat=lat,
        speed_kmh=np.round(np.clip(speed, 0, None), 1),
        heading=np.round(heading, 1),
    )
