"""The real Haimen geometry the demo is built on, in lon/lat and in a metric CRS.

Geometry is built in a local plane in metres: an affine (equirectangular)
map of lon/lat around the district centre. Being affine, it keeps straight
edges straight both ways, so a vertex that one grid has in the middle of a
neighbour's edge stays on that edge in lon/lat and shared edges stay
shared (a Gauss-Kruger projection bends long edges by metres and leaves
slivers). Its scale error is under 0.5% across the district; stored areas
are computed in CGCS2000 / 3-degree GK CM 120E (EPSG:4549). Everything
stored is EPSG:4326. The district polygon reaches into
the Yangtze North Branch (its south edge is the Chongming boundary line in the
channel), so "land" is the district minus the OSM water polygon.

Haimen's neighbours (`onemap demo --districts N`) use the same plane (its
scale error stays under 1% out to Haiyan, 90 km away) and their boundaries
from nantong_districts_and_chongming.geojson; an inland one has no shore or
channel (empty geometries: no riverside cameras, boats or river zones).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import shapely
from pyproj import Transformer
from shapely.geometry import shape

DATA_DIR = Path(__file__).resolve().parents[2] / "data" / "haimen"
AREA_EPSG = 4549
LON0, LAT0 = 121.3, 31.95
_A, _E2 = 6378137.0, 0.00669437999014  # WGS84
_W = 1 - _E2 * np.sin(np.radians(LAT0)) ** 2
KX = _A / np.sqrt(_W) * np.cos(np.radians(LAT0)) * np.pi / 180  # metres per degree of lon
KY = _A * (1 - _E2) / _W**1.5 * np.pi / 180  # metres per degree of lat
_TO_AREA = Transformer.from_crs(4326, AREA_EPSG, always_xy=True)


def to_metric_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (np.asarray(x, float) - LON0) * KX, (np.asarray(y, float) - LAT0) * KY


def to_lonlat_xy(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(x, float) / KX + LON0, np.asarray(y, float) / KY + LAT0


def to_metric(geoms):  # noqa: ANN001, ANN201 - shapely geometry or array of them
    """Lon/lat geometry (or an array of them) into the local plane (metres)."""
    return shapely.transform(geoms, lambda c: np.column_stack(to_metric_xy(c[:, 0], c[:, 1])))


def to_lonlat(geoms):  # noqa: ANN001, ANN201
    """Local-plane geometry (or an array of them) back to lon/lat."""
    return shapely.transform(geoms, lambda c: np.column_stack(to_lonlat_xy(c[:, 0], c[:, 1])))


def area_km2(lonlat_geoms: np.ndarray) -> np.ndarray:
    """True areas of lon/lat geometries in km² (computed in EPSG:4549)."""
    proj = shapely.transform(
        lonlat_geoms, lambda c: np.column_stack(_TO_AREA.transform(c[:, 0], c[:, 1]))
    )
    return shapely.area(proj) / 1e6


HAIMEN = "320614"
NEIGHBOURS_FILE = "nantong_districts_and_chongming.geojson"


def _read(name: str, adcode: str | None = None) -> shapely.Geometry:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        features = json.load(fh)["features"]
    if adcode is not None:
        features = [f for f in features if f["properties"].get("adcode") == adcode]
        if not features:
            raise ValueError(f"no district {adcode} in {name}")
    return shapely.union_all([shape(f["geometry"]) for f in features])


def _district_geom(code: str) -> shapely.Geometry:
    """A district's boundary (lon/lat): Haimen's own file, a neighbour's from the Nantong file."""
    if code == HAIMEN:
        return _read("haimen_district.geojson")
    return _read(NEIGHBOURS_FILE, code)


def _largest_part(geom: shapely.Geometry) -> shapely.Geometry:
    parts = shapely.get_parts(geom)
    if len(parts) == 0:
        return shapely.Polygon()
    return parts[int(np.argmax(shapely.area(parts)))]


@dataclass(frozen=True)
class Geography:
    """Working geometry of the district and its water, in the local plane (metres)."""

    district: shapely.Geometry  # the whole administrative polygon
    land: shapely.Geometry  # district minus Yangtze water: where people, roads and cameras are
    shore: shapely.Geometry  # land within 800 m of the water: riverside cameras
    channel: shapely.Geometry  # navigable water within 2.5 km of the district: patrol boats
    north_branch: shapely.Geometry  # the Haimen/Chongming boundary line in the North Branch
    water: shapely.Geometry
    code: str = HAIMEN  # the district's admin code


@cache
def load_geography(code: str = HAIMEN) -> Geography:
    """Read the real boundary files once per process and derive the working areas."""
    district = to_metric(_district_geom(code))
    water = to_metric(_read("yangtze_estuary_water_osm.geojson"))
    north_branch = to_metric(_read("haimen_chongming_shared_boundary.geojson"))
    land = _largest_part(shapely.difference(district, water))
    shore = shapely.intersection(land, shapely.buffer(water, 800))
    near = shapely.buffer(district, 2500)
    channel = _largest_part(shapely.buffer(shapely.intersection(water, near), -120))
    for g in (district, land, shore, channel):
        shapely.prepare(g)
    return Geography(district, land, shore, channel, north_branch, water, code)


@cache
def district_lonlat(code: str = HAIMEN) -> shapely.Geometry:
    """The district as stored (EPSG:4326), for containment checks against stored rows."""
    g = _district_geom(code)
    shapely.prepare(g)
    return g


@cache
def water_lonlat() -> shapely.Geometry:
    """The Yangtze estuary water polygon as read (EPSG:4326)."""
    return _read("yangtze_estuary_water_osm.geojson")
