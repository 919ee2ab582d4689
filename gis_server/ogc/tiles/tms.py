"""The two tile matrix sets onemap serves: WebMercatorQuad and a CGCS2000 lon/lat quad.

WebMercatorQuad is the OGC registry's (EPSG:3857, 1×1 tiles at z0).
CGCS2000Quad is WorldCRS84Quad's layout on EPSG:4490 (2×1 tiles at z0, lon/lat
degrees); CGCS2000 and WGS 84 differ by centimetres, so envelopes are built in
4326 degrees and hit the storage index directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gis_server.errors import InvalidParameter, NotFound

_MERC = 20037508.342789244
_PIXEL_M = 0.00028  # OGC standardized rendering pixel size (m)
_METERS_PER_DEGREE = 6378137.0 * 2 * 3.141592653589793 / 360


@dataclass(frozen=True)
class TileMatrixSet:
    id: str
    title: str
    uri: str
    crs: str
    srid: int  # envelope SRID (3857 or 4326)
    bounds: tuple[float, float, float, float]  # in srid units: xmin, ymin, xmax, ymax
    cols_z0: int
    rows_z0: int
    max_zoom: int
    ordered_axes: tuple[str, str]

    def tile_span(self, z: int) -> tuple[float, float]:
        """Width and height of one tile at zoom z, in srid units."""
        xmin, ymin, xmax, ymax = self.bounds
        return (xmax - xmin) / (self.cols_z0 << z), (ymax - ymin) / (self.rows_z0 << z)

    def envelope(self, z: int, row: int, col: int) -> tuple[float, float, float, float]:
        w, h = self.tile_span(z)
        xmin, _, _, ymax = self.bounds
        return xmin + col * w, ymax - (row + 1) * h, xmin + (col + 1) * w, ymax - row * h

    def check(self, z: int, row: int, col: int) -> None:
        """404 for a tile outside the matrix set (OGC API - Tiles: 'tile does not exist')."""
        if not 0 <= z <= self.max_zoom:
            raise NotFound(f"tileMatrix {z} not in {self.id} (0…{self.max_zoom})")
        if not 0 <= row < self.rows_z0 << z:
            raise NotFound(f"tileRow {row} outside tileMatrix {z} of {self.id}")
        if not 0 <= col < self.cols_z0 << z:
            raise NotFound(f"tileCol {col} outside tileMatrix {z} of {self.id}")

    def document(self) -> dict[str, Any]:
        """The 2D TileMatrixSet JSON (OGC 17-083r4)."""
        xmin, _, _, ymax = self.bounds
        corner = [ymax, xmin] if self.srid == 4326 else [xmin, ymax]
        matrices = []
        for z in range(self.max_zoom + 1):
            w, _ = self.tile_span(z)
            cell = w / 256
            meters = cell * (_METERS_PER_DEGREE if self.srid == 4326 else 1.0)
            matrices.append(
                {
                    "id": str(z),
                    "scaleDenominator": meters / _PIXEL_M,
                    "cellSize": cell,
                    "cornerOfOrigin": "topLeft",
                    "pointOfOrigin": corner,
                    "tileWidth": 256,
                    "tileHeight": 256,
                    "matrixWidth": self.cols_z0 << z,
                    "matrixHeight": self.rows_z0 << z,
                }
            )
        return {
            "id": self.id,
            "title": self.title,
            "uri": self.uri,
            "crs": self.crs,
            "orderedAxes": list(self.ordered_axes),
            "tileMatrices": matrices,
        }


WEB_MERCATOR_QUAD = TileMatrixSet(
    id="WebMercatorQuad",
    title="Google Maps Compatible for the World",
    uri="http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad",
    crs="http://www.opengis.net/def/crs/EPSG/0/3857",
    srid=3857,
    bounds=(-_MERC, -_MERC, _MERC, _MERC),
    cols_z0=1,
    rows_z0=1,
    max_zoom=22,
    ordered_axes=("E", "N"),
)

CGCS2000_QUAD = TileMatrixSet(
    id="CGCS2000Quad",
    title="CGCS2000 经纬度四叉树 CGCS2000 lon/lat quad (WorldCRS84Quad layout on EPSG:4490)",
    uri="urn:onemap:tilematrixset:CGCS2000Quad",
    crs="http://www.opengis.net/def/crs/EPSG/0/4490",
    srid=4326,
    bounds=(-180.0, -90.0, 180.0, 90.0),
    cols_z0=2,
    rows_z0=1,
    max_zoom=21,
    ordered_axes=("Lat", "Lon"),
)

TILE_MATRIX_SETS: dict[str, TileMatrixSet] = {t.id: t for t in (WEB_MERCATOR_QUAD, CGCS2000_QUAD)}


def get(tms_id: str) -> TileMatrixSet:
    tms = TILE_MATRIX_SETS.get(tms_id)
    if tms is None:
        raise NotFound(
            f"tileMatrixSet {tms_id!r} not found; available: {', '.join(TILE_MATRIX_SETS)}"
        )
    return tms


def parse_index(value: str, parameter: str) -> int:
    """A tileMatrix/tileRow/tileCol path segment: a non-negative integer, else 400."""
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise InvalidParameter(parameter, f"must be a non-negative integer, got {value!r}")
    return int(value)
