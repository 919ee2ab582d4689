"""Rasters recorded by `onemap import raster`, as pygeoapi coverage resources.

The OGC API merges these into its pygeoapi `resources` at start-up:
    resources.update(coverage_resources(dsn))
"""

from __future__ import annotations

from typing import Any

import psycopg2


def coverage_resources(dsn: str) -> dict[str, dict[str, Any]]:
    """One pygeoapi `collection` resource per row of `rasters`, keyed by raster id."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id, title, description, path, min_lon, min_lat, max_lon, max_lat, imported_at "
            "FROM rasters ORDER BY id"
        )
        records = cur.fetchall()
    conn.close()
    resources: dict[str, dict[str, Any]] = {}
    for rid, title, description, path, x0, y0, x1, y1, _imported in records:
        resources[rid] = {
            "type": "collection",
            "title": title,
            "description": description or title,
            "keywords": ["raster", "coverage", "栅格"],
            "extents": {
                "spatial": {
                    "bbox": [x0, y0, x1, y1],
                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                }
            },
            "links": [],
            "providers": [
                {
                    "type": "coverage",
                    "name": "rasterio",
                    "data": path,
                    "options": {"DATA_ENCODING": "COMPRESSION=DEFLATE"},
                    "format": {"name": "GTiff", "mimetype": "image/tiff"},
                }
            ],
        }
    return resources
