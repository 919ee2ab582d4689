"""The OGC API as a set of Starlette routes: a thin dispatcher onto pygeoapi's API functions.

One `OgcService` per app holds its own pygeoapi `API` (config dict built from
settings + registry, OpenAPI doc from `get_oas`), built lazily so the app
starts even when PostGIS is down (/healthz then says 503). Requests are
parsed once by `validate` into one query object; pygeoapi's functions run in a
worker thread with that object in a context variable (`context.current_query`).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import psycopg
import pygeoapi
import pygeoapi.api as core_api
import pygeoapi.api.itemtypes as itemtypes_api
from pygeoapi.api import API, APIRequest, apply_gzip
from pygeoapi.openapi import get_oas
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gis_server.database import pooled
from gis_server.errors import DatabaseUnavailable, NotFound
from gis_server.ogc import adb, coverages, fast_items, handlers, validate
from gis_server.ogc.context import current_query
from gis_server.ogc.offline import offline_routes
from gis_server.ogc.processes import process_routes
from gis_server.ogc.pygeoapi_config import build_config, build_sources
from gis_server.ogc.query import FeatureByIdQuery, ItemsQuery
from gis_server.ogc.source import Source
from gis_server.ogc.tiles.answer import TILE_TIMEOUT_MS, TileService
from gis_server.ogc.tiles.metadata import TileMetadata
from gis_server.ogc.tiles.routes import tile_routes
from gis_server.ogc.writes import add_etag, write_routes
from gis_server.settings import Settings
from layers.rasters import RasterStamp, raster_stamp

LOGGER = logging.getLogger(__name__)

ApiFunction = Callable[..., tuple[dict[str, Any], int, Any]]


class _Params(dict):
    """Query parameters for pygeoapi: `filter` is listed (so next links keep it) but not read.

    pygeoapi reads `params.get("filter")` to parse cql2-text itself; onemap has
    already parsed and compiled it (text or JSON) and hands it over `current_query`.
    """

    def get(self, key: str, default: Any = None) -> Any:
        if key == "filter":
            return default
        return super().get(key, default)


class OgcService:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._lock = threading.Lock()
        self._api: API | None = None
        self._sources: dict[str, Source] = {}
        self._coverage_ids: set[str] = set()  # rasters published as coverages (ogc/coverages.py)
        self._raster_stamp: RasterStamp | None = None
        self._rasters_checked = 0.0
        self.fast = fast_items.FastFeatures(settings)  # GeoJSON built in PostGIS, no pygeoapi
        db = settings.database  # tiles get their own pool: a tile storm cannot starve item pages
        self.tile_db = adb.AsyncDB(
            db.dsn, db.pool_size, statement_timeout_ms=TILE_TIMEOUT_MS, prepared=True
        )
        # MVT tiles (routed, and the app's fast lane); their ETags read the items' counters
        self.tiles = TileService(
            self.source_async,
            self.fast.versions,
            self.fast.db,
            self.tile_db,
            settings.ogc.tile_cache_mb * 1024 * 1024,
        )

    async def open_pools(self) -> None:
        """Bind the async pools of the hot read paths to the running loop (the app's lifespan)."""
        await self.fast.db.open()
        await self.tile_db.open()

    async def close_pools(self) -> None:
        await self.fast.db.close()
        await self.tile_db.close()

    # -- construction -----------------------------------------------------
    def api(self) -> API:
        """The pygeoapi API, built on first use (needs the database for introspection)."""
        if self._api is None:
            with self._lock:
                if self._api is None:
                    self._build()
        assert self._api is not None
        return self._api

    def _build(self) -> None:
        db = self.settings.database
        try:
            with pooled(db.dsn, db.pool_size) as conn:
                sources = build_sources(self.settings, conn)
                stamp = raster_stamp(conn)
            config = build_config(self.settings, sources)
            coverage_ids = coverages.merge_coverages(config["resources"], db.dsn)
        except psycopg.OperationalError as exc:
            LOGGER.error("OGC API not ready: %s", exc)
            raise DatabaseUnavailable("database unavailable, retry later") from None
        openapi = get_oas(config, fail_on_invalid_collection=False)
        self._sources = {s.id: s for s in sources}
        self._coverage_ids, self._raster_stamp = coverage_ids, stamp
        self._api = API(config, openapi)
        # pygeoapi logs every 4xx with a traceback; onemap logs 5xx itself (see _call).
        logging.getLogger("pygeoapi").setLevel(logging.CRITICAL)

    def source(self, collection_id: str) -> Source:
        self.api()
        source = self._sources.get(collection_id)
        if source is None:
            raise NotFound(f"collection {collection_id!r} not found")
        return source

    def _refresh_rasters(self) -> None:
        self.api()
        db = self.settings.database
        with pooled(db.dsn, db.pool_size) as conn:
            stamp = raster_stamp(conn)
        if stamp != self._raster_stamp:
            with self._lock:
                if stamp != self._raster_stamp:
                    LOGGER.info("rasters changed; rebuilding the OGC API")
                    self._build()

    async def coverage_ids_async(self) -> set[str]:
        """Raster collection ids; a raster imported or deleted since the build (checked at most
        every coverages.CHECK_INTERVAL_S) rebuilds the API first, so no restart is needed."""
        now = time.monotonic()
        if self._api is None or now - self._rasters_checked >= coverages.CHECK_INTERVAL_S:
            self._rasters_checked = now
            await run_in_threadpool(self._refresh_rasters)
        return self._coverage_ids

    async def source_async(self, collection_id: str) -> Source:
        """`source` without a thread hop once the API is built (then it is a dict lookup)."""
        if self._api is not None:
            return self.source(collection_id)
        return await run_in_threadpool(self.source, collection_id)

    # -- dispatch ---------------------------------------------------------
    async def _call(
        self,
        request: Request,
        function: ApiFunction,
        *args: Any,
        query: ItemsQuery | FeatureByIdQuery | None = None,
        geojson: bool = False,
        formats: tuple[str, ...] = (),
    ) -> Response:
        api = await run_in_threadpool(self.api)
        api_request = await APIRequest.from_starlette(request, api.locales)
        api_request._data = b""  # GET only: a body never becomes a filter
        if query is not None:
            api_request._args = _Params(query.args)
        if not api_request.is_valid() and api_request.format not in formats:
            validate.check_format(request.query_params)

        def run() -> tuple[dict[str, Any], int, Any]:
            current_query.set(query)
            return function(api, api_request, *args)

        ctx = contextvars.copy_context()
        headers, status, content = await run_in_threadpool(ctx.run, run)
        if status >= 500:
            LOGGER.error("pygeoapi answered %s on %s", status, request.url.path)
        if (
            geojson
            and status == HTTPStatus.OK
            and headers.get("Content-Type") == "application/json"
        ):
            headers["Content-Type"] = "application/geo+json"
        if status != HTTPStatus.NO_CONTENT:
            content = apply_gzip(headers, content)
        if headers.get("Content-Type") == "text/html":
            response: Response = HTMLResponse(content, status_code=status)
        else:
            response = Response(content, status_code=status)
        response.headers.update(headers)
        return response

    async def landing(self, request: Request) -> Response:
        validate.check_format(request.query_params)
        return await self._call(request, handlers.landing_page)

    async def openapi(self, request: Request) -> Response:
        return await self._call(request, core_api.openapi_)

    async def conformance(self, request: Request) -> Response:
        validate.check_format(request.query_params)
        return await self._call(request, handlers.conformance)

    async def call_pygeoapi(
        self, request: Request, function: ApiFunction, *args: Any, formats: tuple[str, ...]
    ) -> Response:
        """A pygeoapi API function for routes in other modules (ogc/coverages.py), with the
        extra `f` values (exact spelling) that route accepts."""
        return await self._call(request, function, *args, formats=formats)

    async def collections(self, request: Request) -> Response:
        validate.check_format(request.query_params)
        await self.coverage_ids_async()
        return await self._call(request, core_api.describe_collections)

    async def collection(self, request: Request) -> Response:
        cid = request.path_params["collection_id"]
        if cid not in await self.coverage_ids_async():
            await run_in_threadpool(self.source, cid)
        validate.check_format(request.query_params)
        return await self._call(request, core_api.describe_collections, cid)

    async def queryables(self, request: Request) -> Response:
        source = await run_in_threadpool(self.source, request.path_params["collection_id"])
        validate.check_format(request.query_params)
        return await self._call(request, handlers.queryables, source)

    async def schema(self, request: Request) -> Response:
        cid = request.path_params["collection_id"]
        await run_in_threadpool(self.source, cid)
        validate.check_format(request.query_params)
        return await self._call(request, core_api.get_collection_schema, cid)

    async def items(self, request: Request) -> Response:
        cid = request.path_params["collection_id"]
        source = await self.source_async(cid)
        ogc = self.settings.ogc
        multi = {k: request.query_params.getlist(k) for k in request.query_params}
        query = validate.items_query(
            source, request.query_params, multi, ogc.default_limit, ogc.max_limit
        )
        if fast_items.wants_geojson(request) and not query.hits:
            return await self.fast.items(request, self.api(), source, query)
        return await self._call(
            request,
            itemtypes_api.get_collection_items,
            cid,
            query=query,
            geojson=True,
            formats=("csv",),
        )

    async def item(self, request: Request) -> Response:
        cid = request.path_params["collection_id"]
        source = await self.source_async(cid)
        query = validate.feature_query(source, request.query_params)
        if fast_items.wants_geojson(request):
            return await self.fast.item(request, self.api(), source, query)
        response = await self._call(
            request,
            itemtypes_api.get_collection_item,
            cid,
            request.path_params["item_id"],
            query=query,
            geojson=True,
        )
        await add_etag(response, self.settings, cid, request.path_params["item_id"])
        return response

    def routes(self) -> list[BaseRoute]:
        """Routes relative to the /ogc mount."""
        static = Path(pygeoapi.__file__).parent / "static"
        server, district = self.settings.server, self.settings.district
        tile_metadata = TileMetadata(self.source_async, server.public_url, district.extent)
        return [
            Route("/", self.landing, methods=["GET", "HEAD"]),
            Route("/openapi", self.openapi, methods=["GET", "HEAD"]),
            Route("/conformance", self.conformance, methods=["GET", "HEAD"]),
            Route("/collections", self.collections, methods=["GET", "HEAD"]),
            Route("/collections/{collection_id}", self.collection, methods=["GET", "HEAD"]),
            Route(
                "/collections/{collection_id}/queryables", self.queryables, methods=["GET", "HEAD"]
            ),
            Route("/collections/{collection_id}/schema", self.schema, methods=["GET", "HEAD"]),
            Route("/collections/{collection_id}/items", self.items, methods=["GET", "HEAD"]),
            Route(
                "/collections/{collection_id}/items/{item_id:path}",
                self.item,
                methods=["GET", "HEAD"],
            ),
            *write_routes(self.settings, self.source_async),  # Part 4 writes, OPTIONS
            *process_routes(self.settings),  # grid-reshape, grid-split, grid-merge
            *tile_routes(self.tiles, tile_metadata),  # OGC API - Tiles (MVT from PostGIS)
            # rasters from `onemap import raster`
            coverages.coverage_route(self.coverage_ids_async, self.call_pygeoapi),
            *offline_routes(),  # vendored JS/CSS and a blank basemap for the HTML pages
            Mount("/static", StaticFiles(directory=static), name="ogc-static"),
        ]

    def mount(self) -> list[BaseRoute]:
        """`/ogc` (the landing page without a trailing slash) and everything under it."""
        return [
            Route("/ogc", self.landing, methods=["GET", "HEAD"]),
            Mount("/ogc", routes=self.routes()),
        ]
