"""Vectorised random points inside polygons (rejection sampling in each bounding box).

Containment is decided by the same polygons that get stored, so a point drawn
for a grid is inside that grid by construction, not by a later lookup.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely


def apportion(weights: np.ndarray, total: int, minimum: int = 0) -> np.ndarray:
    """Split `total` into integers proportional to `weights` (largest remainder), each >= minimum."""
    weights = np.asarray(weights, float)
    base = np.full(len(weights), minimum, dtype=np.int64)
    rest = total - base.sum()
    if rest < 0:
        raise ValueError(f"cannot give {minimum} to each of {len(weights)} parts of {total}")
    share = weights / weights.sum() * rest
    counts = np.floor(share).astype(np.int64)
    short = rest - counts.sum()
    order = np.argsort(-(share - counts), kind="stable")
    counts[order[:short]] += 1
    return base + counts


def points_in(
    rng: np.random.Generator,
    polygon: shapely.Geometry,
    n: int,
    also_inside: Sequence[shapely.Geometry] = (),
) -> tuple[np.ndarray, np.ndarray]:
    """`n` uniform points strictly inside `polygon` (and inside every geometry of also_inside)."""
    if n == 0:
        return np.empty(0), np.empty(0)
    minx, miny, maxx, maxy = shapely.bounds(polygon)
    box_area = max((maxx - minx) * (maxy - miny), 1e-30)
    fill = max(shapely.area(polygon) / box_area, 0.02)
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    got = 0
    for _ in range(200):
        m = int((n - got) / fill * 1.3) + 8
        x = rng.uniform(minx, maxx, m)
        y = rng.uniform(miny, maxy, m)
        ok = shapely.contains_xy(polygon, x, y)
        for g in also_inside:
            ok &= shapely.contains_xy(g, x, y)
        xs.append(x[ok])
        ys.append(y[ok])
        got += int(ok.sum())
        if got >= n:
            break
    else:
        raise RuntimeError("could not place points inside a polygon")
    return np.concatenate(xs)[:n], np.concatenate(ys)[:n]


def points_in_each(
    rng: np.random.Generator,
    polygons: Sequence[shapely.Geometry],
    which: np.ndarray,
    also_inside: Sequence[Sequence[shapely.Geometry]] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One point per entry of `which`, inside polygons[which[i]]; order follows `which`."""
    x = np.empty(len(which))
    y = np.empty(len(which))
    order = np.argsort(which, kind="stable")
    bounds = np.searchsorted(which[order], np.arange(len(polygons) + 1))
    for k, poly in enumerate(polygons):
        idx = order[bounds[k] : bounds[k + 1]]
        if len(idx):
            extra = also_inside[k] if also_inside is not None else ()
            x[idx], y[idx] = points_in(rng, poly, len(idx), extra)
    return x, y
