"""load_demo: generate the whole demo dataset and COPY it in, in one transaction.

Each step draws from its own RNG stream (seed, step number), so the grids
do not change when the camera count is scaled, and the same seed, anchor
and scale always give the same rows.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import psycopg2
import psycopg2.extensions
import shapely
from psycopg2 import sql

from etl.demo import cameras as cams
from etl.demo import dispatch_loop
from etl.demo.copyload import copy_frame, ewkb, ewkb_points
from etl.demo.events import build_events, now_of
from etl.demo.fixes import DAYS, Fixes, build_fixes
from etl.demo.frame import build_frame
from etl.demo.geography import area_km2, load_geography, to_lonlat
from etl.demo.grids import VALID_FROM, Grids, build_grids
from etl.demo.report import TABLES, DemoReport
from etl.demo.towns import Towns, build_towns
from etl.demo.vehicles import build_fleet
from etl.demo.zones import build_zones
from layers.tracks import rebuild_tracks
from layers.trips import rebuild_trips

SHANGHAI = ZoneInfo("Asia/Shanghai")
_LOCK_KEY = 20200610  # advisory lock: one demo load at a time per database
DEFAULT_SEED = 20200610  # `demo.seed` in config.yml; the CLI passes the configured one

STEP = {"towns": 1, "comprehensive": 2, "special": 3, "cameras": 4, "fleet": 5, "fixes": 6,
        "zones": 7, "events": 8}  # fmt: skip


def rng_for(seed: int, step: str) -> np.random.Generator:
    return np.random.default_rng([seed, STEP[step]])


def multipolygons(geoms: np.ndarray) -> np.ndarray:
    """Every geometry as a MultiPolygon (the column type), polygons only."""
    out = []
    for g in geoms:
        parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon" and not p.is_empty]
        out.append(shapely.multipolygons(parts))
    return np.array(out, dtype=object)


def towns_frame(towns: Towns, towns_ll: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": towns.code,
            "name": towns.name,
            "kind": towns.kind,
            "area_km2": np.round(area_km2(towns_ll), 3),
            "geom": ewkb(towns_ll),
        }
    )


def grids_frame(grids: Grids, grids_ll: np.ndarray, towns: Towns) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": grids.code,
            "name": grids.name,
            "town_code": towns.code[grids.town],
            "grid_type": grids.grid_type,
            "worker_name": grids.worker_name,
            "worker_phone": grids.worker_phone,
            "population": grids.population,
            "households": grids.households,
            "area_km2": np.round(area_km2(grids_ll), 4),
            "version": 1,
            "valid_from": VALID_FROM.isoformat(),
            "geom": ewkb(grids_ll),
        }
    )


def points_frame(df: pd.DataFrame) -> pd.DataFrame:
    """Replace lon/lat columns by an EWKB geom column."""
    out = df.drop(columns=["lon", "lat"])
    out["geom"] = ewkb_points(df["lon"].to_numpy(), df["lat"].to_numpy())
    return out


def fixes_frames(fixes: Fixes, codes: np.ndarray, anchor: dt.date):  # noqa: ANN201
    """(day, frame) per Asia/Shanghai day, ready for COPY into vehicle_positions."""
    local_day = (fixes.epoch + 8 * 3600) // 86400
    stamps = np.char.add(np.datetime_as_string(fixes.epoch.astype("datetime64[s]"), unit="s"), "Z")
    geom = ewkb_points(fixes.lon, fixes.lat)
    for d in np.unique(local_day):
        m = local_day == d
        day = dt.date(1970, 1, 1) + dt.timedelta(days=int(d))
        yield (
            day,
            pd.DataFrame(
                {
                    "vehicle_code": codes[fixes.vehicle[m]],
                    "fix_time": stamps[m],
                    "speed_kmh": fixes.speed_kmh[m],
                    "heading": fixes.heading[m],
                    "geom": geom[m],
                }
            ),
        )


def has_data(conn: psycopg2.extensions.connection) -> bool:
    with conn.cursor() as cur:
        probes = sql.SQL(" OR ").join(
            sql.SQL("EXISTS (SELECT 1 FROM {})").format(sql.Identifier(t)) for t in TABLES
        )
        cur.execute(sql.SQL("SELECT {}").format(probes))
        return bool(cur.fetchone()[0])


def truncate(conn: psycopg2.extensions.connection) -> None:
    """Empty every demo layer (day partitions of vehicle_positions included)."""
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("TRUNCATE {} RESTART IDENTITY").format(
                sql.SQL(", ").join(sql.Identifier(t) for t in TABLES)
            )
        )


class _Timer:
    def __init__(self, report: DemoReport) -> None:
        self.report = report

    def __call__(self, name: str, fn: Callable[[], object]) -> object:
        t0 = time.perf_counter()
        result = fn()
        self.report.steps[name] = self.report.steps.get(name, 0.0) + time.perf_counter() - t0
        return result


def load_demo(
    dsn: str,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
    anchor: dt.date | None = None,
    reload: bool = False,
    until: dt.datetime | None = None,
) -> DemoReport:
    """Load the deterministic demo dataset into the database at `dsn`.

    `anchor` is the last day of the demo year (default: today in Asia/Shanghai).
    A no-op (report.loaded False) when the layers already hold data and reload is False.
    `until` drops GPS fixes stamped at or after it: `onemap demo` passes the moment of
    loading, so no vehicle sits at a position from later today and the live simulator
    moves the whole fleet at any hour (tests leave it None: the same data whatever the hour).
    """
    if scale <= 0:
        raise ValueError("scale must be positive")
    anchor = anchor or dt.datetime.now(SHANGHAI).date()
    started = time.perf_counter()
    report = DemoReport(loaded=False, seed=seed, anchor=anchor, scale=scale)
    conn = psycopg2.connect(dsn, application_name="onemap-demo")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        if has_data(conn) and not reload:
            conn.rollback()
            report.seconds = time.perf_counter() - started
            return report
        _load(conn, report, seed, anchor, scale, until)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.close()
    report.loaded = True
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Run:
    """One demo load: its connection, timer, counts and the generators' inputs."""

    conn: Any
    step: _Timer
    count: dict[str, int]
    seed: int
    anchor: dt.date
    scale: float
    until: dt.datetime | None = None
    geo: Any = None

    def copy(self, label: str, table: str, frame: pd.DataFrame) -> int:
        return self.step(label, lambda: copy_frame(self.conn, table, frame))


def _load(conn, report: DemoReport, seed: int, anchor: dt.date, scale: float, until) -> None:  # noqa: ANN001
    run = _Run(conn, _Timer(report), report.counts, seed, anchor, scale, until)
    run.step("truncate", lambda: truncate(conn))
    run.geo = load_geography()
    towns, comp, comp_ll = _load_areas(run)
    frame = run.step("generate cameras", lambda: build_frame(run.geo, comp, comp_ll))
    cameras = run.step(
        "generate cameras",
        lambda: cams.build_cameras(rng_for(seed, "cameras"), frame, comp, towns, scale, anchor),
    )
    run.count["cameras"] = run.copy("copy cameras", "cameras", points_frame(cameras))
    _load_fleet(run, towns)
    zones = run.step("generate zones", lambda: build_zones(rng_for(seed, "zones"), run.geo, towns))
    zones["geom"] = ewkb(multipolygons(zones["geom"].to_numpy()))
    run.count["river_patrol_zones"] = run.copy("copy zones", "river_patrol_zones", zones)
    events, contacts = run.step(
        "generate events",
        lambda: build_events(rng_for(seed, "events"), frame, comp, towns, scale, anchor),
    )
    run.count["events"] = run.copy("copy events", "events", points_frame(events))
    run.count["event_contacts"] = run.copy("copy events", "event_contacts", contacts)
    run.count.update(run.step("dispatch loop", lambda: dispatch_loop.apply(conn, now_of(anchor))))
    run.step("analyze", lambda: _analyze(conn))


def _load_areas(run: _Run) -> tuple[Towns, Any, np.ndarray]:
    """Towns and both grid types, generated and copied; the comprehensive grids' lon/lat."""

    def areas() -> tuple:
        towns = build_towns(run.geo, rng_for(run.seed, "towns"))
        comp = build_grids(towns, "comprehensive", rng_for(run.seed, "comprehensive"))
        spec = build_grids(towns, "special", rng_for(run.seed, "special"))
        return towns, comp, spec

    towns, comp, spec = run.step("generate towns+grids", areas)
    towns_ll = multipolygons(to_lonlat(towns.geom))
    comp_ll = multipolygons(to_lonlat(comp.geom))
    spec_ll = multipolygons(to_lonlat(spec.geom))
    run.count["towns"] = run.copy("copy towns+grids", "towns", towns_frame(towns, towns_ll))
    run.count["grids"] = run.copy(
        "copy towns+grids", "grids", grids_frame(comp, comp_ll, towns)
    ) + run.copy("copy towns+grids", "grids", grids_frame(spec, spec_ll, towns))
    return towns, comp, comp_ll


def _load_fleet(run: _Run, towns: Towns) -> None:
    """Vehicles, their fixes over the demo days, and the tracks and trips built from them."""
    conn, anchor = run.conn, run.anchor
    fleet = run.step(
        "generate vehicles+fixes",
        lambda: build_fleet(rng_for(run.seed, "fleet"), run.geo, towns, run.scale),
    )
    fixes = run.step(
        "generate vehicles+fixes",
        lambda: build_fixes(rng_for(run.seed, "fixes"), fleet, anchor).before(run.until),
    )
    vehicles = pd.DataFrame(
        {"code": fleet.code, "plate": fleet.plate, "kind": fleet.kind,
         "company": fleet.company, "town_code": towns.code[fleet.town]}
    )  # fmt: skip
    run.count["vehicles"] = run.copy("copy vehicles+fixes", "vehicles", vehicles)
    run.count["vehicle_positions"] = run.step(
        "copy vehicles+fixes", lambda: _copy_fixes(conn, fixes, fleet.code, anchor)
    )
    days = [anchor - dt.timedelta(days=i) for i in range(DAYS - 1, -1, -1)]
    run.count["vehicle_tracks"] = run.step(
        "rebuild tracks", lambda: rebuild_tracks(conn, None, days)
    )
    run.count["vehicle_trips"] = run.step(
        "rebuild trips", lambda: rebuild_trips(conn, list(fleet.code), days)
    )


def _copy_fixes(conn, fixes: Fixes, codes: np.ndarray, anchor: dt.date) -> int:  # noqa: ANN001
    total = 0
    with conn.cursor() as cur:
        for day, frame in fixes_frames(fixes, codes, anchor):
            cur.execute("SELECT onemap_ensure_position_partition(%s)", (day,))
            total += copy_frame(conn, "vehicle_positions", frame)
    return total


def _analyze(conn) -> None:  # noqa: ANN001
    with conn.cursor() as cur:
        for t in TABLES:
            cur.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(t)))
