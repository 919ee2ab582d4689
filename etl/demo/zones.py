"""River patrol zones: 60 reaches of the Yangtze and its North Branch along the district.

The reference line is the district's edge where it meets the water south of
32.0N (the Chongming boundary in the North Branch and the main channel at
Linjiang; the Yellow Sea coast further north is left out). Each zone is a
stretch of that line, buffered by a width that suits its kind and clipped to
the water. Zones of different kinds may overlap, as they do in practice
(a patrol reach inside a fishing-ban water). No inland rivers: there is no
open geometry for 青龙河/海门河 to build them on, and invented strips would
mislead a map reader.

A neighbour district's reference line is all of its edge along the water
(any latitude: 启东's Yellow Sea coast too), and its zone counts follow that
line's length against Haimen's; an inland district has none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from shapely import ops

from etl.demo.districts import HAIMEN_DISTRICT, District
from etl.demo.geography import Geography, area_km2, load_geography, to_lonlat, to_metric_xy
from etl.demo.people import names
from etl.demo.towns import Towns

# kind: count, length (m), width (m), river chief level, label
KINDS = {
    "fishing_ban": (12, (4000, 8000), 1500, "区级", "禁捕水域"),
    "patrol": (24, (2000, 4000), 600, "镇级", "巡河段"),
    "outfall": (16, (300, 600), 250, "村级", "排污口管控区"),
    "sand_mining_ban": (8, (3000, 6000), 1000, "区级", "禁采区"),
}
SHORT = {"fishing_ban": "FB", "patrol": "PT", "outfall": "OF", "sand_mining_ban": "SM"}
MAIN_CHANNEL_WEST_OF = 121.115  # lon: west of the North Branch's head is the main stream


COLUMNS = ("code", "name", "river", "zone_kind", "river_chief", "river_chief_level", "town_code",
           "area_km2", "geom")  # fmt: skip


def _reference_lines(geo: Geography, haimen: bool = True) -> list[shapely.LineString]:
    """Stretches (over 1 km) of the district edge along the water (Haimen's: south of 32.0N)."""
    _, ymax = to_metric_xy(np.array([121.3]), np.array([32.0]))
    edge = shapely.intersection(shapely.boundary(geo.district), shapely.buffer(geo.water, 150))
    if shapely.is_empty(edge):
        return []
    pieces = [p for p in shapely.get_parts(edge) if p.geom_type == "LineString"]
    parts = shapely.get_parts(ops.linemerge(shapely.multilinestrings(pieces)))
    return [p for p in parts if p.length > 1000 and (not haimen or p.centroid.y < ymax[0])]


def build_zones(
    rng: np.random.Generator, geo: Geography, towns: Towns, district: District = HAIMEN_DISTRICT
) -> pd.DataFrame:
    """The district's river patrol zones (Haimen's 60, a neighbour's by its length of water edge)."""
    haimen = district.code == HAIMEN_DISTRICT.code
    lines = _reference_lines(geo, haimen)
    if not lines:
        return pd.DataFrame({c: [] for c in COLUMNS})
    factor = (
        1.0
        if haimen
        else (
            sum(ln.length for ln in lines)
            / sum(ln.length for ln in _reference_lines(load_geography()))
        )
    )
    share = np.array([ln.length for ln in lines]) / sum(ln.length for ln in lines)
    water = shapely.intersection(geo.water, shapely.buffer(geo.district, 3000))
    rows = []
    west_x, _ = to_metric_xy(np.array([MAIN_CHANNEL_WEST_OF]), np.array([31.8]))
    for kind, (count, (lo, hi), width, level, label) in KINDS.items():
        count = count if haimen else max(1, round(count * factor))
        chiefs = names(rng, count)
        for seq in range(1, count + 1):
            line = lines[int(rng.choice(len(lines), p=share))]
            length = min(rng.uniform(lo, hi), line.length)
            start = rng.uniform(0, max(line.length - length, 1))
            reach = ops.substring(line, start, start + length)
            zone = shapely.intersection(shapely.buffer(reach, width, cap_style="flat"), water)
            if kind == "sand_mining_ban":  # mid-channel, away from the bank
                zone = shapely.difference(zone, shapely.buffer(line, 300))
            zone = shapely.make_valid(zone)
            polys = [p for p in shapely.get_parts(zone) if p.geom_type == "Polygon"]
            zone = shapely.multipolygons(polys)
            mid = reach.interpolate(0.5, normalized=True)
            town = int(np.argmin(shapely.distance(towns.geom, mid)))
            river = "长江" if mid.x < west_x[0] or not haimen else "长江北支"
            rows.append(
                {
                    "code": f"{district.prefix}-RZ-{SHORT[kind]}-{seq:03d}",
                    "name": f"{river}{towns.name[town]}段{label}{seq}号",
                    "river": river,
                    "zone_kind": kind,
                    "river_chief": chiefs[seq - 1],
                    "river_chief_level": level,
                    "town_code": towns.code[town],
                    "area_km2": round(float(area_km2(to_lonlat(zone))), 3),
                    "geom": to_lonlat(zone),
                }
            )
    return pd.DataFrame(rows)
