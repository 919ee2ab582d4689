"""An intake's `location`: coordinates in a named CRS, a grid code or a town name.

GCJ-02 (AMap, Tencent) and BD-09 (Baidu) are turned into WGS84 with the exact
inverse of etl/chinese_crs.py; CGCS2000 lon/lat equals WGS84 to well under a
metre, the precision of a citizen's report, so it is taken as is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from etl.chinese_crs import bd09_to_wgs84, gcj02_to_wgs84
from gis_server.errors import InvalidParameter

CRS_NAMES = ("wgs84", "cgcs2000", "gcj02", "bd09")
_INVERSE = {"gcj02": gcj02_to_wgs84, "bd09": bd09_to_wgs84}


@dataclass(frozen=True)
class Location:
    lon: float | None = None
    lat: float | None = None
    grid_code: str | None = None
    town: str | None = None


def _number(loc: dict[str, Any], name: str, lo: float, hi: float) -> float:
    value = loc.get(name)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidParameter(f"location.{name}", "应为数字 — must be a number")
    if not lo <= value <= hi:
        raise InvalidParameter(f"location.{name}", f"应在 {lo}–{hi} 之间 — out of range")
    return float(value)


def to_wgs84(lon: float, lat: float, crs: str) -> tuple[float, float]:
    if crs not in _INVERSE:
        return lon, lat
    x, y = _INVERSE[crs](np.array([lon]), np.array([lat]))
    return float(x[0]), float(y[0])


def parse(value: Any) -> Location:
    """The checked location (400 naming `location.…` when it is not one of the three forms)."""
    if not isinstance(value, dict):
        raise InvalidParameter(
            "location", "应为对象 — an object {lon, lat, crs} | {grid_code} | {town}"
        )
    if "grid_code" in value:
        code = value["grid_code"]
        if not isinstance(code, str) or not code.strip():
            raise InvalidParameter("location.grid_code", "应为文本 — must be a non-empty string")
        return Location(grid_code=code.strip())
    if "town" in value:
        town = value["town"]
        if not isinstance(town, str) or not town.strip():
            raise InvalidParameter("location.town", "应为文本 — must be a non-empty string")
        return Location(town=town.strip())
    crs = value.get("crs", "wgs84")
    if crs not in CRS_NAMES:
        raise InvalidParameter("location.crs", f"应为 {'|'.join(CRS_NAMES)} — unknown CRS")
    lon, lat = to_wgs84(_number(value, "lon", -180, 180), _number(value, "lat", -90, 90), crs)
    return Location(lon=lon, lat=lat)
