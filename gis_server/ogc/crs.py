"""The CRSs onemap serves (OGC API Features Part 2) and how each maps to SQL.

Storage is EPSG:4326 in lon/lat order, i.e. CRS84. Every output CRS is an
integer SRID for ST_Transform plus whether the axis order is lat-first (then
ST_FlipCoordinates). pygeoapi only sees the URIs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from gis_server.errors import InvalidParameter


@dataclass(frozen=True)
class Crs:
    uri: str
    srid: int
    lat_first: bool
    bounds: tuple[float, float, float, float]  # x/lon min, y/lat min, x/lon max, y/lat max

    @property
    def projected(self) -> bool:
        return self.srid == 3857


_MERC = 20037508.342789244
_DEG = (-180.0, -90.0, 180.0, 90.0)

CRS84 = Crs("http://www.opengis.net/def/crs/OGC/1.3/CRS84", 4326, False, _DEG)
EPSG4326 = Crs("http://www.opengis.net/def/crs/EPSG/0/4326", 4326, True, _DEG)
CGCS2000 = Crs("http://www.opengis.net/def/crs/EPSG/0/4490", 4490, True, _DEG)
WEB_MERCATOR = Crs(
    "http://www.opengis.net/def/crs/EPSG/0/3857", 3857, False, (-_MERC, -_MERC, _MERC, _MERC)
)

SUPPORTED: tuple[Crs, ...] = (CRS84, EPSG4326, CGCS2000, WEB_MERCATOR)
SUPPORTED_URIS: list[str] = [c.uri for c in SUPPORTED]

_ALIASES: dict[str, Crs] = {c.uri: c for c in SUPPORTED}
_ALIASES.update(
    {
        "CRS84": CRS84,
        "OGC:CRS84": CRS84,
        "[OGC:CRS84]": CRS84,
        "EPSG:4326": EPSG4326,
        "[EPSG:4326]": EPSG4326,
        "EPSG:4490": CGCS2000,
        "[EPSG:4490]": CGCS2000,
        "EPSG:3857": WEB_MERCATOR,
        "[EPSG:3857]": WEB_MERCATOR,
        "http://www.opengis.net/def/crs/EPSG/0/900913": WEB_MERCATOR,
    }
)


def parse_crs(value: str, parameter: str) -> Crs:
    """The Crs a `crs`/`bbox-crs`/`filter-crs` value names (URI or CURIE), else 400."""
    crs = _ALIASES.get(value.strip())
    if crs is None:
        raise InvalidParameter(
            parameter, f"unsupported CRS {value!r}; supported: {', '.join(SUPPORTED_URIS)}"
        )
    return crs


def by_uri(uri: str | None) -> Crs:
    """Crs of a URI pygeoapi hands the provider (crs_transform_spec.target_crs_uri)."""
    return _ALIASES.get(uri or "", CRS84)


def bbox_to_crs84(
    crs: Crs, minx: float, miny: float, maxx: float, maxy: float
) -> tuple[float, ...]:
    """An x/y-ordered bbox in `crs` as lon/lat degrees (exact: Mercator is axis-separable)."""
    if crs.projected:

        def lon(x: float) -> float:
            return math.degrees(x / 6378137.0)

        def lat(y: float) -> float:
            return math.degrees(2 * math.atan(math.exp(y / 6378137.0)) - math.pi / 2)

        return (lon(minx), lat(miny), lon(maxx), lat(maxy))
    return (minx, miny, maxx, maxy)
