"""OGC API - Tiles routes (vector tiles of every collection), answered by onemap, not pygeoapi.

/tileMatrixSets[/{id}], /collections/{id}/tiles[/{tms}] (tileset metadata with
TileJSON-style members) and /collections/{id}/tiles/{tms}/{tileMatrix}/{tileRow}/{tileCol}
(OGC order: z/y/x). A tile is one ST_AsMVT statement; an empty tile is 204.
Tiles carry a strong ETag and Last-Modified from the layer's change counter and
`Cache-Control: public, max-age=60` for a tile cache in front.
"""

from __future__ import annotations

import json
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from psycopg2 import sql
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gis_server.errors import InvalidParameter
from gis_server.ogc import adb, caching
from gis_server.ogc.source import Source
from gis_server.ogc.sql import Binds
from gis_server.ogc.tiles import mvt, tms
from layers.registry import BY_ID

if TYPE_CHECKING:
    from gis_server.ogc.service import OgcService

MVT_TYPE = "application/vnd.mapbox-vector-tile"
TILE_TIMEOUT_MS = 5000
REL_TILESETS = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
REL_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
_STATS_TTL = 60.0
_TIMEOUT = sql.SQL(f"SET LOCAL statement_timeout = {TILE_TIMEOUT_MS}; ")


class TileCache:
    """Recent tiles per process, valid for one version of their layer (LRU, bounded in bytes).

    A tile is built from one layer only, so it stays right until that layer's
    change counter moves (`caching.LayerVersions`, read at most once a second:
    the same staleness as the ETag's). Without `layer_changes` nothing is kept.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._bytes = 0
        self._tiles: OrderedDict[tuple[Any, ...], tuple[caching.Change, bytes]] = OrderedDict()

    def get(self, key: tuple[Any, ...], change: caching.Change | None) -> bytes | None:
        hit = self._tiles.get(key)
        if hit is None or change is None:
            return None
        if hit[0] != change:  # the layer changed since: rebuild
            self._drop(key)
            return None
        self._tiles.move_to_end(key)
        return hit[1]

    def put(self, key: tuple[Any, ...], change: caching.Change | None, tile: bytes) -> None:
        if change is None or not self.max_bytes or len(tile) > self.max_bytes // 16:
            return
        self._drop(key)
        self._tiles[key] = (change, tile)
        self._bytes += len(tile)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._tiles)))

    def _drop(self, key: tuple[Any, ...]) -> None:
        old = self._tiles.pop(key, None)
        if old is not None:
            self._bytes -= len(old[1])


class TileService:
    """Tile handlers for one OgcService (which knows the collections and the base URL)."""

    def __init__(self, ogc: OgcService):
        self.ogc = ogc
        self._rows: dict[str, tuple[float, float]] = {}
        self._cache = TileCache(ogc.settings.ogc.tile_cache_mb * 1024 * 1024)

    # -- helpers ------------------------------------------------------------
    @property
    def base(self) -> str:
        return self.ogc.settings.server.public_url + "/ogc"

    def _layer(self, source: Source, rows: float) -> mvt.TileLayer:
        spec = BY_ID.get(source.id)
        light = [source.id_column]
        if spec is not None and spec.style.by_property:
            light.append(spec.style.by_property)
        if source.column("name") is not None:
            light.append("name")
        light = [c for i, c in enumerate(light) if c in source.names and c not in light[:i]]
        points = spec is not None and spec.geometry_type == "Point"
        return mvt.TileLayer(source, points, tuple(light), rows)

    async def _row_estimate(self, cur: Any, table: str) -> float:
        cached = self._rows.get(table)
        if cached is not None and time.monotonic() - cached[1] < _STATS_TTL:
            return cached[0]
        await cur.execute("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%s)", (table,))
        row = await cur.fetchone()
        value = float(row[0]) if row and row[0] is not None else -1.0
        if value < 0:  # partitioned parent or never analysed: sum the children
            await cur.execute(
                "SELECT coalesce(sum(greatest(c.reltuples, 0)), 0) FROM pg_inherits i "
                "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass(%s)",
                (table,),
            )
            value = float((await cur.fetchone())[0])
        self._rows[table] = (value, time.monotonic())
        return value

    # -- tiles --------------------------------------------------------------
    async def tile(self, request: Request) -> Response:
        p = request.path_params
        z = tms.parse_index(p["z"], "tileMatrix")
        row = tms.parse_index(p["row"], "tileRow")
        col = tms.parse_index(p["col"], "tileCol")
        f = request.query_params.get("f")
        if f is not None and f.lower() != "mvt":
            raise InvalidParameter("f", f"unsupported format {f!r} for tiles; use mvt")
        matrix_set = tms.get(p["tms"])
        matrix_set.check(z, row, col)
        source = await self.ogc.source_async(p["collection_id"])
        return await self._tile(request, source, matrix_set, z, row, col)

    async def _tile(
        self,
        request: Request,
        source: Source,
        matrix_set: tms.TileMatrixSet,
        z: int,
        row: int,
        col: int,
    ) -> Response:
        fast = self.ogc.fast
        change = await fast.versions.get_async(source.table, fast.db)
        tag = caching.etag(change, "tile", request.url.path, weak=False)
        headers = caching.validators(tag, change, caching.TILES_CACHE_CONTROL)
        if caching.not_modified(request.headers, tag, change):
            return Response(status_code=304, headers=headers)
        key = (source.id, matrix_set.id, z, row, col)
        tile = self._cache.get(key, change)
        if tile is None:
            binds = Binds()
            async with fast.db.cursor(f"tile {z}/{row}/{col} of {source.id!r}") as cur:
                layer = self._layer(source, await self._row_estimate(cur, source.table))
                statement = mvt.tile_sql(layer, matrix_set, z, row, col, binds)
                await adb.execute(cur, _TIMEOUT + statement, binds.values)
                tile = bytes((await cur.fetchone())[0] or b"")
            self._cache.put(key, change, tile)
        if not tile:
            return Response(status_code=204, headers=headers)
        headers["Content-Type"] = MVT_TYPE
        body = caching.maybe_gzip(tile, caching.accepts_gzip(request.headers), headers)
        return Response(body, headers=headers)

    # -- metadata -----------------------------------------------------------
    def _check_json(self, request: Request) -> None:
        f = request.query_params.get("f")
        if f is not None and f.lower() != "json":
            raise InvalidParameter("f", f"unsupported format {f!r}; use json")

    async def matrix_sets(self, request: Request) -> Response:
        self._check_json(request)
        sets = [
            {
                "id": t.id,
                "title": t.title,
                "uri": t.uri,
                "crs": t.crs,
                "links": [
                    {
                        "rel": "self",
                        "type": "application/json",
                        "title": t.title,
                        "href": f"{self.base}/tileMatrixSets/{t.id}?f=json",
                    }
                ],
            }
            for t in tms.TILE_MATRIX_SETS.values()
        ]
        return _json({"tileMatrixSets": sets})

    async def matrix_set(self, request: Request) -> Response:
        self._check_json(request)
        return _json(tms.get(request.path_params["tms"]).document())

    async def tilesets(self, request: Request) -> Response:
        self._check_json(request)
        source = await self.ogc.source_async(request.path_params["collection_id"])
        url = f"{self.base}/collections/{source.id}/tiles"
        doc = {
            "links": [
                {"rel": "self", "type": "application/json", "href": f"{url}?f=json"},
                {
                    "rel": "collection",
                    "type": "application/json",
                    "href": f"{self.base}/collections/{source.id}",
                },
            ],
            "tilesets": [
                self._tileset(source, t, summary=True) for t in tms.TILE_MATRIX_SETS.values()
            ],
        }
        return _json(doc)

    async def tileset(self, request: Request) -> Response:
        self._check_json(request)
        source = await self.ogc.source_async(request.path_params["collection_id"])
        matrix_set = tms.get(request.path_params["tms"])
        return _json(self._tileset(source, matrix_set, summary=False))

    def _tileset(self, source: Source, t: tms.TileMatrixSet, summary: bool) -> dict[str, Any]:
        url = f"{self.base}/collections/{source.id}/tiles/{t.id}"
        template = f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f=mvt"
        doc: dict[str, Any] = {
            "title": f"{source.title} ({t.id})",
            "dataType": "vector",
            "crs": t.crs,
            "tileMatrixSetURI": t.uri,
            "links": [
                {"rel": "self", "type": "application/json", "href": f"{url}?f=json"},
                {
                    "rel": REL_SCHEME,
                    "type": "application/json",
                    "href": f"{self.base}/tileMatrixSets/{t.id}?f=json",
                },
                {"rel": "item", "type": MVT_TYPE, "templated": True, "href": template},
            ],
        }
        if summary:
            return doc
        extent = list(self.ogc.settings.district.extent)
        fields = {c.name: c.title or c.type for c in source.columns}
        doc["layers"] = [
            {"id": source.id, "title": source.title, "dataType": "vector", "minTileMatrix": "0",
             "maxTileMatrix": str(t.max_zoom)}
        ]  # fmt: skip
        # TileJSON 3.0 members, so MapLibre/Leaflet plugins can read the same document
        doc.update(
            {
                "tilejson": "3.0.0",
                "tiles": [template.replace("{tileMatrix}", "{z}").replace("{tileRow}", "{y}")
                          .replace("{tileCol}", "{x}")],
                "minzoom": 0,
                "maxzoom": t.max_zoom,
                "bounds": extent,
                "vector_layers": [{"id": source.id, "fields": fields}],
            }
        )  # fmt: skip
        return doc


def _json(doc: dict[str, Any]) -> Response:
    return Response(
        json.dumps(doc, ensure_ascii=False).encode(),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


def tile_routes(ogc: OgcService) -> list[BaseRoute]:
    """Routes relative to the /ogc mount."""
    tiles = TileService(ogc)
    get = ["GET", "HEAD"]
    return [
        Route("/tileMatrixSets", tiles.matrix_sets, methods=get),
        Route("/tileMatrixSets/{tms}", tiles.matrix_set, methods=get),
        Route("/collections/{collection_id}/tiles", tiles.tilesets, methods=get),
        Route("/collections/{collection_id}/tiles/{tms}", tiles.tileset, methods=get),
        Route("/collections/{collection_id}/tiles/{tms}/{z}/{row}/{col}", tiles.tile, methods=get),
    ]
