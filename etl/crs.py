"""Work out which CRS a file's coordinates are in, and bring them to EPSG:4326.

Handles what Chinese GIS staff actually receive: CGCS2000 (EPSG:4490, treated
as WGS84 at the metre level), CGCS2000 3-degree Gauss-Krüger zones with or
without the zone number prefixed to the easting (EPSG:4513–4533 / 4534–4554,
often mislabelled in .prj files), Web Mercator, and the non-EPSG GCJ-02 and
BD-09 obfuscations (etl.chinese_crs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from pyproj import CRS, Transformer

from etl.chinese_crs import TO_WGS84
from etl.errors import CrsError, UsageError

WGS84 = CRS.from_epsg(4326)
_ALIASES = {
    "wgs84": "EPSG:4326",
    "cgcs2000": "EPSG:4490",
    "webmercator": "EPSG:3857",
    "mercator": "EPSG:3857",
}
_GK_PREFIX_FIRST, _GK_PREFIX_LAST = 4513, 4533  # zones 25..45, easting = zone*1e6 + 500000
_GK_CM_FIRST, _GK_CM_LAST = 4534, 4554  # central meridians 75E..135E, easting 500000
_FIRST_ZONE = 25


@dataclass(frozen=True)
class SourceCrs:
    """The CRS the coordinates are really in: an EPSG/PROJ CRS or 'gcj02'/'bd09'."""

    crs: CRS | None
    special: str | None = None  # gcj02 | bd09
    note: str | None = None  # why it differs from what the file said

    @property
    def label(self) -> str:
        if self.special:
            return self.special.upper().replace("GCJ02", "GCJ-02").replace("BD09", "BD-09")
        epsg = self.crs.to_epsg() if self.crs else None
        return f"EPSG:{epsg}" if epsg else (self.crs.name if self.crs else "?")


def parse_crs(text: str) -> SourceCrs:
    """`--crs` value: gcj02, bd09, an alias, EPSG:xxxx, a bare code, WKT or PROJ string."""
    key = text.strip().lower().replace("-", "").replace("_", "")
    if key in ("gcj02", "gcj", "mars", "amap", "tencent"):
        return SourceCrs(WGS84, special="gcj02")
    if key in ("bd09", "baidu", "bd09ll"):
        return SourceCrs(WGS84, special="bd09")
    value = _ALIASES.get(key, text.strip())
    if value.isdigit():
        value = f"EPSG:{value}"
    try:
        return SourceCrs(CRS.from_user_input(value))
    except Exception as exc:  # pyproj raises CRSError; say what was given
        raise UsageError(f"无法识别的坐标系 — unknown CRS {text!r}: {exc}") from exc


def gk_zone_code(zone: int, prefixed: bool) -> int:
    """EPSG code of CGCS2000 3-degree GK zone `zone` (central meridian 3*zone)."""
    base = _GK_PREFIX_FIRST if prefixed else _GK_CM_FIRST
    return base + zone - _FIRST_ZONE


def _gk_zone(crs: CRS) -> int | None:
    """Zone number if `crs` is a CGCS2000 3-degree Gauss-Krüger CRS (by code or parameters)."""
    epsg = crs.to_epsg(min_confidence=70)
    if epsg and _GK_PREFIX_FIRST <= epsg <= _GK_PREFIX_LAST:
        return epsg - _GK_PREFIX_FIRST + _FIRST_ZONE
    if epsg and _GK_CM_FIRST <= epsg <= _GK_CM_LAST:
        return epsg - _GK_CM_FIRST + _FIRST_ZONE
    op = crs.coordinate_operation
    if not crs.is_projected or op is None or "Transverse Mercator" not in op.method_name:
        return None
    if "2000" not in (crs.datum.name if crs.datum else ""):
        return None
    params = {p.name: p.value for p in op.params}
    cm = params.get("Longitude of natural origin")
    if cm is None or cm % 3:
        return None
    zone = int(cm // 3)
    return zone if _FIRST_ZONE <= zone <= 45 else None


def _looks_lonlat(bounds: tuple[float, float, float, float]) -> bool:
    minx, miny, maxx, maxy = bounds
    return -180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90


def _prefix_zone(minx: float, maxx: float) -> int | None:
    """Zone number from a prefixed easting (e.g. 40 500 000 m -> zone 40)."""
    zmin, zmax = int(minx // 1_000_000), int(maxx // 1_000_000)
    return zmin if zmin == zmax and _FIRST_ZONE <= zmin <= 45 else None


def resolve(
    file_crs: CRS | None, explicit: str | None, bounds: tuple[float, float, float, float] | None
) -> SourceCrs:
    """Decide the coordinates' CRS from `--crs`, the file's CRS and the coordinates themselves."""
    if explicit:
        chosen = parse_crs(explicit)
    elif file_crs is not None:
        chosen = SourceCrs(file_crs)
    elif bounds is None or _looks_lonlat(bounds):
        return SourceCrs(
            WGS84, note="文件无坐标系,按经纬度读取 — no CRS in the file; read as lon/lat"
        )
    else:
        zone = _prefix_zone(bounds[0], bounds[2])
        hint = (
            f"; 坐标像 CGCS2000 3度带第{zone}带 — looks like CGCS2000 3° GK zone {zone}: "
            f"use --crs EPSG:{gk_zone_code(zone, True)}"
            if zone
            else ""
        )
        raise CrsError(
            "文件没有坐标系且坐标不是经纬度,请用 --crs 指定 — the file has no CRS and its "
            f"coordinates (bounds {_fmt_bounds(bounds)}) are not lon/lat; give --crs{hint}"
        )
    if chosen.special or chosen.crs is None or bounds is None:
        return chosen
    return _fix_gk_prefix(chosen, bounds)


def _fix_gk_prefix(chosen: SourceCrs, bounds: tuple[float, float, float, float]) -> SourceCrs:
    """A GK CRS whose false easting disagrees with the eastings: pick the zone's other code."""
    zone = _gk_zone(chosen.crs)
    if zone is None:
        return chosen
    minx, _, maxx, _ = bounds
    prefixed_zone = _prefix_zone(minx, maxx)
    params = {p.name: p.value for p in chosen.crs.coordinate_operation.params}
    has_prefix_crs = params.get("False easting", 500000.0) > 1_000_000
    if prefixed_zone and not has_prefix_crs:
        code = gk_zone_code(prefixed_zone, True)
        return SourceCrs(
            CRS.from_epsg(code),
            note=f"东坐标带带号前缀{prefixed_zone},改用 — eastings carry zone prefix "
            f"{prefixed_zone}: using EPSG:{code}",
        )
    if not prefixed_zone and has_prefix_crs and maxx < 1_000_000:
        code = gk_zone_code(zone, False)
        return SourceCrs(
            CRS.from_epsg(code),
            note=f"东坐标无带号前缀,改用 — eastings have no zone prefix: using EPSG:{code}",
        )
    return chosen


def _fmt_bounds(b: tuple[float, float, float, float]) -> str:
    return ", ".join(f"{v:.6g}" for v in b)


def to_wgs84(geoms: np.ndarray, source: SourceCrs) -> np.ndarray:
    """Transform an array of shapely geometries to EPSG:4326 lon/lat (always x=lon)."""
    if source.special:
        fn = TO_WGS84[source.special]

        def _special(coords: np.ndarray) -> np.ndarray:
            lon, lat = fn(coords[:, 0], coords[:, 1])
            return np.column_stack([lon, lat])

        return shapely.transform(geoms, _special)
    if source.crs is None or source.crs.equals(WGS84, ignore_axis_order=True):
        return geoms
    transformer = Transformer.from_crs(source.crs, WGS84, always_xy=True)

    def _proj(coords: np.ndarray) -> np.ndarray:
        x, y = transformer.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geoms, _proj)


def from_wgs84(geoms: np.ndarray, target: SourceCrs) -> np.ndarray:
    """The reverse of to_wgs84, for exports in a requested CRS."""
    from etl.chinese_crs import FROM_WGS84

    if target.special:
        fn = FROM_WGS84[target.special]
        return shapely.transform(geoms, lambda c: np.column_stack(fn(c[:, 0], c[:, 1])))
    transformer = Transformer.from_crs(WGS84, target.crs, always_xy=True)
    return shapely.transform(
        geoms, lambda c: np.column_stack(transformer.transform(c[:, 0], c[:, 1]))
    )
