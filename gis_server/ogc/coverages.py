"""Rasters imported with `onemap import raster`, published as OGC API coverage collections.

The `rasters` catalog (`layers.rasters`) becomes pygeoapi coverage resources
(pygeoapi's rasterio provider reads the COGs); they are merged into the config
when the API is built. A raster imported while the server runs is picked up
without a restart: the collection routes compare `rasters`' count and latest
`imported_at` (one tiny query, at most every CHECK_INTERVAL_S) with the values
at build time and rebuild the API when they differ.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol
from urllib.parse import urlencode

from pygeoapi.api.coverages import get_collection_coverage
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gis_server.database import connect
from gis_server.errors import InvalidParameter, NotFound
from layers.rasters import Raster, list_rasters

LOGGER = logging.getLogger(__name__)

CHECK_INTERVAL_S = 2.0
GTIFF = "GTiff"  # the rasterio provider's format name
FORMATS = {"json", "html", "gtiff"}  # CoverageJSON, HTML page, the COG itself


class CallPygeoapi(Protocol):
    """Runs a pygeoapi API function for a request (the OGC service's `call_pygeoapi`),
    accepting the extra `f` values in `formats`; the function returns (headers, status, content)."""

    def __call__(
        self,
        request: Request,
        function: Callable[..., tuple[dict[str, Any], int, Any]],
        *args: Any,
        formats: tuple[str, ...],
    ) -> Awaitable[Response]: ...


def coverage_resource(raster: Raster) -> dict[str, Any]:
    """A pygeoapi `collection` resource served by its rasterio provider."""
    return {
        "type": "collection",
        "title": raster.title,
        "description": raster.description or raster.title,
        "keywords": ["raster", "coverage", "栅格"],
        "extents": {
            "spatial": {
                "bbox": list(raster.bbox),
                "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
            }
        },
        "links": [],
        "providers": [
            {
                "type": "coverage",
                "name": "rasterio",
                "data": raster.path,
                "options": {"DATA_ENCODING": "COMPRESSION=DEFLATE"},
                "format": {"name": GTIFF, "mimetype": "image/tiff"},
            }
        ],
    }


def coverage_resources(dsn: str) -> dict[str, dict[str, Any]]:
    """One pygeoapi resource per row of `rasters`, keyed by raster id."""
    with connect(dsn) as conn:  # closed on exit (psycopg 3)
        rasters = list_rasters(conn)
    return {raster.id: coverage_resource(raster) for raster in rasters}


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


def coverage_route(
    coverage_ids: Callable[[], Awaitable[set[str]]], call_pygeoapi: CallPygeoapi
) -> Route:
    """GET /collections/{id}/coverage (relative to /ogc), answered by pygeoapi; `coverage_ids`
    gives the published rasters (rebuilding the API when `rasters` changed)."""

    async def coverage(request: Request) -> Response:
        cid = request.path_params["collection_id"]
        if cid not in await coverage_ids():
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
        return await call_pygeoapi(request, get_collection_coverage, cid, formats=(GTIFF,))

    return Route("/collections/{collection_id}/coverage", coverage, methods=["GET", "HEAD"])
