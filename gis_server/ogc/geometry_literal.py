"""A filter's geometry literal checked before PostGIS sees it: a 400 naming `filter`, not a 500.

ST_GeomFromGeoJSON raises on an unknown type, an unclosed ring or a position
that is not numbers, and ST_Transform on coordinates its projection cannot
take; on a read path those are server errors. Here the literal (cql2-json, or
the WKT pygeofilter turned into GeoJSON with tuples) must be a GeoJSON
geometry whose positions are numbers inside the bounds of its CRS.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gis_server.errors import InvalidParameter
from gis_server.ogc.crs import Crs

MAX_COLLECTION_DEPTH = 4  # GeometryCollections inside GeometryCollections


def _bad(message: str, what: str = "geometry") -> InvalidParameter:
    return InvalidParameter("filter", f"{what} literal: {message}")


def _array(value: Any, what: str) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, list | tuple):
        raise _bad(f"{what} must be an array")
    return value


class _Checker:
    """The positions of one literal, in one CRS (x/lon first unless the CRS says lat first)."""

    def __init__(self, crs: Crs):
        self.crs = crs

    def position(self, value: Any) -> None:
        pos = _array(value, "a position")
        if not 2 <= len(pos) <= 3 or any(
            isinstance(v, bool) or not isinstance(v, int | float) for v in pos
        ):
            raise _bad(f"a position is 2 or 3 numbers, got {list(pos)!r}"[:200])
        x, y = (pos[1], pos[0]) if self.crs.lat_first else (pos[0], pos[1])
        xmin, ymin, xmax, ymax = self.crs.bounds
        if not (xmin <= x <= xmax and ymin <= y <= ymax):  # NaN and infinities fail too
            raise _bad(f"position {list(pos)!r} is outside the valid range of {self.crs.uri}")

    def line(self, value: Any, minimum: int = 2, closed: bool = False) -> None:
        points = _array(value, "a line or ring")
        if len(points) < minimum:
            raise _bad(f"a {'ring' if closed else 'line'} needs at least {minimum} positions")
        for p in points:
            self.position(p)
        if closed and list(points[0]) != list(points[-1]):
            raise _bad("a polygon ring must end where it starts (closed)")

    def polygon(self, value: Any) -> None:
        for ring in _array(value, "a polygon"):
            self.line(ring, 4, closed=True)

    def kinds(self) -> dict[str, Callable[[Any], None]]:
        return {
            "Point": self.position,
            "MultiPoint": lambda v: [self.position(p) for p in _array(v, "MultiPoint")],
            "LineString": self.line,
            "MultiLineString": lambda v: [self.line(x) for x in _array(v, "MultiLineString")],
            "Polygon": self.polygon,
            "MultiPolygon": lambda v: [self.polygon(x) for x in _array(v, "MultiPolygon")],
        }


def check(geometry: Any, crs: Crs) -> None:
    """400 unless `geometry` is a GeoJSON geometry PostGIS will parse and transform."""
    kinds = _Checker(crs).kinds()
    stack = [(geometry, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, dict):
            raise _bad("must be a GeoJSON geometry object")
        kind = node.get("type")
        if kind == "GeometryCollection" and depth < MAX_COLLECTION_DEPTH:
            stack.extend((g, depth + 1) for g in _array(node.get("geometries"), "geometries"))
        elif kind in kinds:
            kinds[kind](node.get("coordinates"))
        else:
            raise _bad(f"unknown or too deeply nested geometry type {str(kind)[:50]!r}")


def check_box(box: tuple[Any, Any, Any, Any], crs: Crs) -> None:
    """400 unless a bbox literal (minx, miny, maxx, maxy; x/lon first) is four numbers
    inside the bounds of `crs`."""
    if any(isinstance(v, bool) or not isinstance(v, int | float) for v in box):
        raise _bad(f"must be 4 or 6 numbers, got {list(box)!r}"[:200], "bbox")
    minx, miny, maxx, maxy = box
    xmin, ymin, xmax, ymax = crs.bounds
    if not all(xmin <= x <= xmax for x in (minx, maxx)) or not all(
        ymin <= y <= ymax for y in (miny, maxy)
    ):  # NaN and infinities fail too
        raise _bad(f"{list(box)!r} is outside the valid range of {crs.uri}", "bbox")
