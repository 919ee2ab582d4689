"""Grids: 1,099 comprehensive and 202 special grids, each type tiling every town.

The counts are Haimen's real ones after the 2020 re-division (综合网格 1141 →
1099, 专属网格 434 → 202). Per town the count is proportional to area; inside a
town the grid seeds are drawn half around the town centre and half uniformly,
so grids are small and dense in the centre and large in the fields. A Voronoi
diagram of n seeds clipped to the town gives exactly n cells that share
edges, so each type tiles its town with no gap and no overlap.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import shapely

from etl.demo.people import names
from etl.demo.sampling import apportion, points_in
from etl.demo.towns import Towns

COUNTS = {"comprehensive": 1099, "special": 202}
LETTER = {"comprehensive": "C", "special": "S"}
LABEL = {"comprehensive": "综合网格", "special": "专属网格"}
VALID_FROM = dt.datetime(2020, 6, 10, tzinfo=dt.timezone(dt.timedelta(hours=8)))  # 指挥中心揭牌


@dataclass(frozen=True)
class Grids:
    """One grid type's cells (metric geometry) and attributes."""

    grid_type: str
    code: np.ndarray
    name: np.ndarray
    town: np.ndarray  # index into Towns
    geom: np.ndarray
    worker_name: np.ndarray
    worker_phone: np.ndarray
    population: np.ndarray
    households: np.ndarray


def _tile(rng: np.random.Generator, town: shapely.Geometry, cx: float, cy: float, n: int):  # noqa: ANN202
    """n cells tiling `town`, ordered north-west to south-east."""
    if n == 1:
        return np.array([town], dtype=object)
    n_centre = n // 2
    x1, y1 = points_in(rng, town, n - n_centre)
    spread = max(np.sqrt(shapely.area(town)) / 6, 800.0)
    x2, y2 = _gaussian_in(rng, town, cx, cy, spread, n_centre)
    x, y = np.concatenate([x1, x2]), np.concatenate([y1, y2])
    seeds = shapely.multipoints(np.column_stack([x, y]))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=town))
    cells = shapely.intersection(cells, town)
    cells = cells[~shapely.is_empty(cells)]
    if len(cells) != n:
        raise RuntimeError(f"Voronoi gave {len(cells)} cells for {n} seeds")
    c = shapely.centroid(cells)
    order = np.lexsort((shapely.get_x(c), -np.round(shapely.get_y(c) / 1500)))
    return cells[order]


def _gaussian_in(rng, town, cx, cy, spread, n):  # noqa: ANN001, ANN202
    xs, ys, got = [], [], 0
    while got < n:
        x = rng.normal(cx, spread, 2 * n + 8)
        y = rng.normal(cy, spread, 2 * n + 8)
        ok = shapely.contains_xy(town, x, y)
        xs.append(x[ok])
        ys.append(y[ok])
        got += int(ok.sum())
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def build_grids(
    towns: Towns,
    grid_type: str,
    rng: np.random.Generator,
    total: int | None = None,
    district_code: str = "320614",
) -> Grids:
    """All grids of one type (Haimen's count, or `total`); the same rng state gives the same cells."""
    areas = shapely.area(towns.geom)
    total = COUNTS[grid_type] if total is None else max(total, len(areas))
    per_town = apportion(areas, total, minimum=1)
    cells, town_idx, codes, labels = [], [], [], []
    letter, width = LETTER[grid_type], (4 if grid_type == "comprehensive" else 3)
    for k, n in enumerate(per_town):
        got = _tile(rng, towns.geom[k], towns.anchor_x[k], towns.anchor_y[k], int(n))
        cells.extend(got)
        town_idx.extend([k] * len(got))
        for seq in range(1, len(got) + 1):
            codes.append(f"{towns.code[k]}-{letter}{seq:0{width}d}")
            labels.append(f"{towns.name[k]}第{seq}{LABEL[grid_type]}")
    m = len(cells)
    households = np.clip(rng.normal(330 if letter == "C" else 160, 70, m), 40, None).astype(int)
    population = (households * rng.uniform(2.4, 3.0, m)).astype(int)
    if district_code == "320614":  # Haimen's numbers as they always were
        block, first = ("0615" if letter == "S" else "0614"), 0
    else:  # a neighbour's: its code's last digits, special grids from 5000
        block, first = district_code[-4:], (5000 if letter == "S" else 0)
    phones = np.array([f"100-{block}-{first + i:04d}" for i in range(m)], dtype=object)
    return Grids(
        grid_type=grid_type,
        code=np.array(codes, dtype=object),
        name=np.array(labels, dtype=object),
        town=np.array(town_idx),
        geom=np.array(cells, dtype=object),
        worker_name=names(rng, m),
        worker_phone=phones,
        population=population,
        households=households,
    )
