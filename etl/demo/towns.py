"""Towns: a seeded partition of the real district polygon, named after real town-level units.

No town polygons exist in any open source, so the district is cut into ~900
random Voronoi cells and each cell goes to the nearest town anchor, where
"nearest" is distance minus a per-kind reach (towns reach far, farms little):
an additively weighted Voronoi that gives towns 60-150 km² and farms a few
km². Anchors are approximate real locations. Cells share exact edges, so the
towns tile the district with no gap or overlap.

Chosen from the NBS 2023 list (data/haimen/haimen_township_codes_nbs2023.csv):
the towns, development zones and the farms/fisheries with real territory.
Left out: 海永镇 (320614102) and 永隆沙农场 (320614401), which lie on Chongming
Island, an exclave outside this (mainland) district polygon; and units with no
territory of their own to speak of: 种羊场, 三厂苗圃, 农科所, 芦荡管理所.

A neighbour district (etl/demo/districts.py) has no anchors on record: its
towns' anchors are spread over its land by farthest-point sampling (seeded),
so its towns are of comparable size; the cell count follows its area.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
import shapely.ops

from etl.demo.districts import District
from etl.demo.geography import Geography, to_lonlat_xy, to_metric_xy
from etl.demo.sampling import points_in

# code, short name, kind, approximate anchor (lon, lat)
TOWN_TABLE: tuple[tuple[str, str, str, float, float], ...] = (
    ("320614103", "常乐镇", "town", 121.265, 31.880),
    ("320614104", "悦来镇", "town", 121.330, 31.930),
    ("320614105", "四甲镇", "town", 121.240, 32.000),
    ("320614106", "余东镇", "town", 121.320, 32.060),
    ("320614107", "正余镇", "town", 121.420, 32.020),
    ("320614416", "三星镇", "town", 121.110, 31.960),
    ("320614400", "海门经济技术开发区", "zone", 121.170, 31.880),
    ("320614414", "临江新区", "zone", 121.060, 31.820),
    ("320614415", "海门港新区", "zone", 121.480, 32.090),
    ("320614418", "三厂工业园区", "zone", 121.090, 31.890),
    ("320614403", "大东农场", "farm", 121.390, 32.110),
    ("320614413", "江心沙农场", "farm", 121.220, 31.815),
    ("320614406", "包场渔场", "farm", 121.480, 31.990),
    ("320614407", "长江芦荡养殖场", "farm", 121.340, 31.845),
    ("320614408", "沿江渔场", "farm", 121.130, 31.800),
    ("320614404", "畜禽良种场", "farm", 121.190, 32.040),
)
REACH_M = {"town": 4000.0, "subdistrict": 4000.0, "zone": 1000.0, "farm": -2500.0}
CELLS = 900


@dataclass(frozen=True)
class Towns:
    """Town polygons in EPSG:4549 with their attributes (index = position in TOWN_TABLE)."""

    code: np.ndarray
    name: np.ndarray
    kind: np.ndarray
    anchor_x: np.ndarray
    anchor_y: np.ndarray
    geom: np.ndarray  # shapely (Multi)Polygons, metric


def _snap_inside(geo: Geography, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move approximate anchors that fall outside the land 1.5 km inside it."""
    core = shapely.buffer(geo.land, -1500)
    pts = shapely.points(x, y)
    outside = ~shapely.contains(core, pts)
    pts[outside] = [shapely.ops.nearest_points(core, p)[0] for p in pts[outside]]
    return shapely.get_x(pts), shapely.get_y(pts)


HAIMEN_KM2 = 1133.6


def neighbour_table(
    district: District, geo: Geography, rng: np.random.Generator
) -> tuple[tuple[str, str, str, float, float], ...]:
    """A TOWN_TABLE for a neighbour: its town names, synthetic codes, spread-out anchors."""
    core = shapely.buffer(geo.land, -1500)
    if shapely.is_empty(core):
        core = geo.land
    x, y = points_in(rng, core, 2000)
    chosen = [int(rng.integers(0, len(x)))]
    dist = np.hypot(x - x[chosen[0]], y - y[chosen[0]])
    for _ in range(len(district.towns) - 1):
        chosen.append(int(np.argmax(dist)))
        dist = np.minimum(dist, np.hypot(x - x[chosen[-1]], y - y[chosen[-1]]))
    lon, lat = to_lonlat_xy(x[chosen], y[chosen])
    return tuple(
        (f"{district.code}{100 + i:03d}", name, "subdistrict" if name.endswith("街道") else "town",
         float(lon[i]), float(lat[i]))
        for i, name in enumerate(district.towns)
    )  # fmt: skip


def build_towns(
    geo: Geography,
    rng: np.random.Generator,
    table: tuple[tuple[str, str, str, float, float], ...] = TOWN_TABLE,
) -> Towns:
    """Partition the district into the towns of `table` (Haimen's TOWN_TABLE by default)."""
    code, name, kind, lon, lat = (np.array(c) for c in zip(*table, strict=True))
    ax, ay = _snap_inside(geo, *to_metric_xy(lon.astype(float), lat.astype(float)))
    minx, miny, maxx, maxy = geo.district.bounds
    n_cells = CELLS if table is TOWN_TABLE else max(300, round(CELLS * _km2(geo) / HAIMEN_KM2))
    inside = np.zeros(0, bool)
    while inside.sum() < n_cells:  # a neighbour's bounding box may be mostly water or elsewhere
        sx = rng.uniform(minx, maxx, n_cells * 3 * (1 + len(inside) // (n_cells * 3)))
        sy = rng.uniform(miny, maxy, len(sx))
        inside = shapely.contains_xy(geo.district, sx, sy)
    seeds = shapely.multipoints(np.column_stack([sx[inside][:n_cells], sy[inside][:n_cells]]))
    cells = shapely.get_parts(shapely.voronoi_polygons(seeds, extend_to=geo.district))
    cells = shapely.intersection(cells, geo.district)
    cells = cells[~shapely.is_empty(cells)]
    c = shapely.point_on_surface(cells)
    cx, cy = shapely.get_x(c), shapely.get_y(c)
    reach = np.array([REACH_M[k] for k in kind])
    dist = np.hypot(cx[:, None] - ax[None, :], cy[:, None] - ay[None, :]) - reach[None, :]
    owner = np.argmin(dist, axis=1)
    # every town keeps at least the cell its anchor lies in
    owner[shapely.STRtree(cells).query(shapely.points(ax, ay), predicate="within")[1]] = np.arange(
        len(code)
    )
    geoms = np.array([shapely.union_all(cells[owner == k]) for k in range(len(code))], dtype=object)
    if any(shapely.is_empty(g) for g in geoms):
        raise RuntimeError("a town received no territory; check the anchors")
    return Towns(code, name, kind, ax, ay, geoms)


def _km2(geo: Geography) -> float:
    return float(shapely.area(geo.district)) / 1e6
