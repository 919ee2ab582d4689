"""The demo generators without a database: determinism and exact tiling."""

from __future__ import annotations

import datetime as dt
import hashlib

import numpy as np
import pandas as pd
import pytest
import shapely

from etl.demo.events import build_events
from etl.demo.fixes import build_fixes
from etl.demo.frame import build_frame
from etl.demo.geography import load_geography, to_lonlat, to_metric_xy
from etl.demo.grids import COUNTS, build_grids
from etl.demo.load import multipolygons, rng_for
from etl.demo.towns import build_towns
from etl.demo.vehicles import build_fleet

ANCHOR = dt.date(2025, 6, 30)
SCALE = 0.01


def _digest(seed: int) -> str:
    """Hash of everything a seed generates (geometry as WKB, attributes as CSV)."""
    geo = load_geography()
    towns = build_towns(geo, rng_for(seed, "towns"))
    comp = build_grids(towns, "comprehensive", rng_for(seed, "comprehensive"))
    comp_ll = multipolygons(to_lonlat(comp.geom))
    frame = build_frame(geo, comp, comp_ll)
    events, contacts = build_events(rng_for(seed, "events"), frame, comp, towns, SCALE, ANCHOR)
    fleet = build_fleet(rng_for(seed, "fleet"), geo, towns, SCALE)
    fixes = build_fixes(rng_for(seed, "fixes"), fleet, ANCHOR)
    h = hashlib.sha256()
    for g in (*towns.geom, *comp.geom):
        h.update(shapely.to_wkb(g))
    h.update(pd.DataFrame({"code": comp.code, "pop": comp.population}).to_csv().encode())
    h.update(events.to_csv().encode())
    h.update(contacts.to_csv().encode())
    for a in (fixes.epoch, fixes.lon, fixes.lat, fixes.speed_kmh):
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


def test_same_seed_same_data_other_seed_other_data() -> None:
    assert _digest(7) == _digest(7)
    assert _digest(7) != _digest(8)


@pytest.mark.parametrize("grid_type", sorted(COUNTS))
def test_grids_tile_each_town_in_the_plane(grid_type: str) -> None:
    geo = load_geography()
    towns = build_towns(geo, rng_for(1, "towns"))
    grids = build_grids(towns, grid_type, rng_for(1, grid_type))
    assert len(grids.code) == COUNTS[grid_type]
    assert len(set(grids.code)) == len(grids.code)
    for k, town in enumerate(towns.geom):
        cells = grids.geom[grids.town == k]
        assert len(cells) >= 1
        assert abs(shapely.area(cells).sum() - town.area) < 1.0  # m², so no overlap
        assert shapely.symmetric_difference(shapely.union_all(cells), town).area < 1.0  # no gap
    assert shapely.symmetric_difference(shapely.union_all(towns.geom), geo.district).area < 1.0


def test_fixes_follow_the_clock_and_stay_in_the_work_area() -> None:
    geo = load_geography()
    towns = build_towns(geo, rng_for(3, "towns"))
    fleet = build_fleet(rng_for(3, "fleet"), geo, towns, 0.05)
    fixes = build_fixes(rng_for(3, "fixes"), fleet, ANCHOR)
    order = np.lexsort((fixes.epoch, fixes.vehicle))
    steps = np.diff(fixes.epoch[order])
    same = np.diff(fixes.vehicle[order]) == 0
    assert np.all((steps[same] == 10) | (steps[same] > 3600))  # every 10 s within a shift
    points = shapely.points(*to_metric_xy(fixes.lon, fixes.lat))
    assert shapely.covers(fleet.area[fixes.vehicle], points).all()
    assert (fixes.speed_kmh[fixes.speed_kmh > 0] < 60).all()


def test_a_live_demo_has_no_fixes_from_the_future() -> None:
    """`onemap demo` cuts the fleet's fixes at the moment of loading, whatever the hour."""
    geo = load_geography()
    towns = build_towns(geo, rng_for(3, "towns"))
    fleet = build_fleet(rng_for(3, "fleet"), geo, towns, 0.05)
    fixes = build_fixes(rng_for(3, "fixes"), fleet, ANCHOR)
    noon = dt.datetime(ANCHOR.year, ANCHOR.month, ANCHOR.day, 4, tzinfo=dt.UTC)  # 12:00 Shanghai
    cut = fixes.before(noon)
    later = fixes.epoch >= noon.timestamp()
    assert later.any() and (~later).any()  # the anchor day's shifts straddle noon
    assert len(cut) == int((~later).sum())
    assert (cut.epoch < noon.timestamp()).all()
    assert np.array_equal(cut.lon, fixes.lon[~later])
    assert fixes.before(None) is fixes
