"""Where an event is: its grid, town and grid worker, from a point, a grid code or a town name.

A point inside an open grid takes that grid (comprehensive grids first, then
the smallest); a point in a gap between grids or on water takes the nearest
comprehensive grid within `snap_m` metres; else only the town that contains
it (or none). Every answer says how it was found, for the dispatch reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layers.dispatch.rows import one


@dataclass(frozen=True)
class Place:
    lon: float
    lat: float
    grid_code: str | None
    town_code: str | None
    grid_worker: str | None
    how: str  # e.g. "inside grid G1", "nearest grid G2 at 120 m", "town T1 (no grid)"


POINT_SQL = """
WITH pt AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g),
inside AS (
  SELECT gr.code, gr.town_code, gr.worker_name, 0.0::float8 AS dist_m
  FROM grids gr, pt WHERE gr.valid_to IS NULL AND ST_Contains(gr.geom, pt.g)
  ORDER BY (gr.grid_type = 'comprehensive') DESC, gr.area_km2 NULLS LAST, gr.code LIMIT 1
),
knn AS (
  SELECT gr.code, gr.town_code, gr.worker_name,
         ST_Distance(gr.geom::geography, pt.g::geography) AS dist_m
  FROM grids gr, pt WHERE gr.valid_to IS NULL AND gr.grid_type = 'comprehensive'
  ORDER BY gr.geom <-> pt.g LIMIT 8
),
near AS (
  SELECT * FROM knn WHERE dist_m <= %(snap_m)s AND NOT EXISTS (SELECT 1 FROM inside)
  ORDER BY dist_m, code LIMIT 1
),
town AS (
  SELECT t.code FROM towns t, pt WHERE ST_Contains(t.geom, pt.g) ORDER BY t.code LIMIT 1
)
SELECT g.code AS grid_code, g.town_code AS grid_town, g.worker_name, g.dist_m,
       (SELECT code FROM town) AS town_code
FROM (SELECT * FROM inside UNION ALL SELECT * FROM near) g
RIGHT JOIN (SELECT 1) one ON true
"""

GRID_SQL = """
SELECT code, town_code, worker_name, ST_X(p) AS lon, ST_Y(p) AS lat
FROM (SELECT *, ST_PointOnSurface(geom) AS p FROM grids WHERE code = %(code)s AND valid_to IS NULL) g
"""

TOWN_SQL = """
SELECT code, ST_X(p) AS lon, ST_Y(p) AS lat
FROM (SELECT code, ST_PointOnSurface(geom) AS p FROM towns WHERE name = %(name)s OR code = %(name)s
      ORDER BY (name = %(name)s) DESC LIMIT 1) t
"""


def at_point(cur: Any, lon: float, lat: float, snap_m: float) -> Place:
    """The grid containing (lon, lat) WGS84, else the nearest within snap_m, else the town."""
    cur.execute(POINT_SQL, {"lon": lon, "lat": lat, "snap_m": snap_m})
    return from_row(one(cur) or {}, lon, lat, snap_m)


def from_row(row: dict[str, Any], lon: float, lat: float, snap_m: float) -> Place:
    """The Place of a POINT_SQL row (also read inside intake's one locate-and-match statement)."""
    grid = row.get("grid_code")
    if grid is None:
        town = row.get("town_code")
        how = f"town {town} (no grid within {snap_m:g} m)" if town else "outside every town"
        return Place(lon, lat, None, town, None, how)
    dist = row["dist_m"] or 0.0
    how = f"inside grid {grid}" if dist == 0 else f"nearest grid {grid} at {dist:.0f} m"
    return Place(lon, lat, grid, row["grid_town"], row["worker_name"], how)


def at_grid(cur: Any, code: str) -> Place | None:
    """A point on the open grid `code` (None if there is no such grid)."""
    cur.execute(GRID_SQL, {"code": code})
    row = one(cur)
    if row is None:
        return None
    return Place(
        row["lon"], row["lat"], code, row["town_code"], row["worker_name"], f"grid {code} given"
    )


def at_town(cur: Any, name: str) -> Place | None:
    """A point in the town named (or coded) `name`; no grid (None if unknown)."""
    cur.execute(TOWN_SQL, {"name": name})
    row = one(cur)
    if row is None:
        return None
    return Place(row["lon"], row["lat"], None, row["code"], None, f"town {row['code']} given")
