"""Rasters imported with `onemap import raster`, published as OGC API coverage collections.

`etl.raster_catalog` turns the `rasters` table into pygeoapi coverage resources
(pygeoapi's rasterio provider reads the COGs); they are merged into the config
when the API is built. A raster imported while the server runs is picked up
without a restart: the collection routes compare `rasters`' count and latest
`imported_at` (one tiny query, at most every CHECK_INTERVAL_S) with the values
at build time and rebuild the API when they differ.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import psycopg2.extensions
from pygeoapi.api.coverages import get_collection_coverage
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from etl.raster_catalog import coverage_resources
from gis_server.errors import InvalidParameter, NotFound

LOGGER = logging.getLogger(__name__)

CHECK_INTERVAL_S = 2.0
GTIFF = "GTiff"  # the rasterio provider's format name (etl.raster_catalog)
FORMATS = {"json", "html", "gtiff"}  # CoverageJSON, HTML page, the COG itself

RasterStamp = tuple[int, datetime | None]


def raster_stamp(conn: psycopg2.extensions.connection) -> RasterStamp:
    """(count, latest imported_at) of `rasters`: changes on every import, re-import and delete."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*), max(imported_at) FROM rasters")
        count, latest = cur.fetchone()
    conn.rollback()
    return int(count), latest


def merge_coverages(resources: dict[str, Any], dsn: str) -> set[str]:
    """Add the rasters' coverage resources to `resources`; a raster whose id is already a
    collection (a layer or an extra table) is refused with a warning. Returns the ids added."""
    added: set[str] = set()
    for rid, resource in coverage_resources(dsn).items():
        if rid in resources:
            LOGGER.warning(
                "栅格 %r 与已有图层同名,未发布 — raster %r not published: the id is a "
                "collection already; re-import it with another --id",
                rid,
                rid,
            )
            continue
        resources[rid] = resource
        added.add(rid)
    return added


def check_coverage_params(request: Request) -> None:
    """400 for an unknown format (pygeoapi would answer it with a 500 or a default)."""
    f = request.query_params.get("f")
    if f is not None and f.lower() not in FORMATS:
        raise InvalidParameter("f", f"unsupported format {f!r}; use GTiff, json or html")


def coverage_route(service: Any) -> Route:
    """GET /collections/{id}/coverage (relative to /ogc), answered by pygeoapi."""

    async def coverage(request: Request) -> Response:
        cid = request.path_params["collection_id"]
        if cid not in await service.coverage_ids_async():
            raise NotFound(f"coverage {cid!r} not found")
        check_coverage_params(request)
        # pygeoapi compares `f` with the provider's format name as written ("GTiff").
        query = [
            (k, GTIFF if k == "f" and v.lower() == "gtiff" else v)
            for k, v in request.query_params.multi_items()
        ]
        request = Request(
            dict(request.scope, query_string=urlencode(query).encode()), request.receive
        )
        return await service.call_pygeoapi(request, get_collection_coverage, cid, formats=(GTIFF,))

    return Route("/collections/{collection_id}/coverage", coverage, methods=["GET", "HEAD"])
