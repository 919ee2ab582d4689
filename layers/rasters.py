"""The `rasters` catalog: the GeoTIFFs `onemap import raster` wrote as COGs (EPSG:4326).

The ETL records a raster here (`record_raster`); the OGC API reads which rasters
exist (`list_rasters`) and notices a change by their stamp (`raster_stamp`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from layers.dbapi import Connection, Cursor

# (count, latest imported_at): changes on every import, re-import and delete
RasterStamp = tuple[int, datetime | None]

_UPSERT = """
INSERT INTO rasters (id, title, description, path, source_file, sha256, crs, width, height,
                     band_count, dtype, nodata, min_lon, min_lat, max_lon, max_lat, overviews,
                     imported_by)
VALUES (%(id)s, %(title)s, %(description)s, %(path)s, %(source_file)s, %(sha256)s, 'EPSG:4326',
        %(width)s, %(height)s, %(band_count)s, %(dtype)s, %(nodata)s, %(min_lon)s, %(min_lat)s,
        %(max_lon)s, %(max_lat)s, %(overviews)s, %(who)s)
ON CONFLICT (id) DO UPDATE SET title = EXCLUDED.title, description = EXCLUDED.description,
    path = EXCLUDED.path, source_file = EXCLUDED.source_file, sha256 = EXCLUDED.sha256,
    width = EXCLUDED.width, height = EXCLUDED.height, band_count = EXCLUDED.band_count,
    dtype = EXCLUDED.dtype, nodata = EXCLUDED.nodata, min_lon = EXCLUDED.min_lon,
    min_lat = EXCLUDED.min_lat, max_lon = EXCLUDED.max_lon, max_lat = EXCLUDED.max_lat,
    overviews = EXCLUDED.overviews, imported_by = EXCLUDED.imported_by, imported_at = now()
RETURNING (xmax = 0)
"""


@dataclass(frozen=True)
class Raster:
    """A recorded raster, as far as publishing it needs."""

    id: str
    title: str
    description: str
    path: str  # the COG
    bbox: tuple[float, float, float, float]  # lon/lat: min_lon, min_lat, max_lon, max_lat


def list_rasters(conn: Connection) -> list[Raster]:
    """Every recorded raster, by id."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, title, description, path, min_lon, min_lat, max_lon, max_lat "
            "FROM rasters ORDER BY id"
        )
        return [
            Raster(rid, title, description, path, (x0, y0, x1, y1))
            for rid, title, description, path, x0, y0, x1, y1 in cur.fetchall()
        ]


def raster_stamp(conn: Connection) -> RasterStamp:
    """(count, latest imported_at) of `rasters`: a change means the published set changed.
    Leaves no transaction open (the connection goes back to a pool)."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*), max(imported_at) FROM rasters")
        count, latest = cur.fetchone()
    conn.rollback()
    return int(count), latest


def record_raster(cur: Cursor, values: dict[str, Any]) -> bool:
    """Insert or update the raster `values["id"]` (columns by name, `who` = imported_by);
    True when it is new."""
    cur.execute(_UPSERT, values)
    return bool(cur.fetchone()[0])
