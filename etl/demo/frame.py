"""Where point features may go: comprehensive grids as stored (lon/lat), clipped to land.

Cameras and events are drawn grid by grid inside these polygons, checked
against the stored grid and the real district polygon, so each point's
grid_code is right by construction and agrees with PostGIS ST_Contains.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from etl.demo.geography import Geography, district_lonlat, to_lonlat
from etl.demo.grids import Grids
from etl.demo.sampling import points_in_each


@dataclass(frozen=True)
class Frame:
    grids_ll: np.ndarray  # stored comprehensive grid polygons (EPSG:4326)
    land_ll: np.ndarray  # each grid ∩ land
    shore_ll: np.ndarray  # each grid ∩ riverside strip
    land_km2: np.ndarray
    shore_km2: np.ndarray
    district_ll: shapely.Geometry

    def sample(self, rng: np.random.Generator, which: np.ndarray, shore: bool = False):  # noqa: ANN201
        """Lon/lat of one point per entry of `which` (grid index), on land (or on the shore)."""
        polys = self.shore_ll if shore else self.land_ll
        extra = [(g, self.district_ll) for g in self.grids_ll]
        return points_in_each(rng, polys, which, extra)


def build_frame(geo: Geography, grids: Grids, grids_ll: np.ndarray) -> Frame:
    land = to_lonlat(grids_metric_clip(grids.geom, geo.land))
    shore = to_lonlat(grids_metric_clip(grids.geom, geo.shore))
    for g in (*grids_ll, *land, *shore):
        shapely.prepare(g)
    return Frame(
        grids_ll=grids_ll,
        land_ll=land,
        shore_ll=shore,
        land_km2=shapely.area(grids_metric_clip(grids.geom, geo.land)) / 1e6,
        shore_km2=shapely.area(grids_metric_clip(grids.geom, geo.shore)) / 1e6,
        district_ll=district_lonlat(geo.code),
    )


def grids_metric_clip(cells: np.ndarray, mask: shapely.Geometry) -> np.ndarray:
    return shapely.intersection(cells, mask)
