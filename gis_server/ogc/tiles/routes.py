"""OGC API - Tiles routes (vector tiles of every collection), answered by onemap, not pygeoapi.

/tileMatrixSets[/{id}], /collections/{id}/tiles[/{tms}] (tileset metadata with
TileJSON-style members) and /collections/{id}/tiles/{tms}/{tileMatrix}/{tileRow}/{tileCol}
(OGC order: z/y/x). A tile is one ST_AsMVT statement; an empty tile is 204.
Tiles carry a strong ETag and Last-Modified from the layer's change counter and
`Cache-Control: public, max-age=60` for a tile cache in front.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gis_server.errors import InvalidParameter, NotFound
from gis_server.ogc import adb, caching, params
from gis_server.ogc.source import Source
from gis_server.ogc.tiles import mvt, tms
from layers.base import LayerSpec
from layers.registry import BY_ID

if TYPE_CHECKING:
    from gis_server.ogc.service import OgcService

MVT_TYPE = "application/vnd.mapbox-vector-tile"
TILE_TIMEOUT_MS = 5000
REL_TILESETS = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"
REL_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"
_STATS_TTL = 60.0
TILE_PARAMETERS = frozenset({"f", "datetime"})


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


@dataclass
class TileAnswer:
    """A tile response before it is sent (by the routed handler or the fast lane)."""

    status: int
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class _LayerPlan:
    """A collection's TileLayer and its composed statements, for one Source object."""

    source: Source
    layer: mvt.TileLayer
    read_at: float  # when the row estimate (which picks the zoom bands) was read
    statements: dict[tuple[str, mvt.TileKind, bool], bytes] = field(default_factory=dict)

    def statement(self, matrix_set: tms.TileMatrixSet, kind: mvt.TileKind, timed: bool) -> bytes:
        """The kind's statement as query bytes, composed on first use."""
        key = (matrix_set.id, kind, timed)
        query = self.statements.get(key)
        if query is None:
            statement = mvt.tile_statement(self.layer, matrix_set, kind, timed)
            query = adb.compile_query(statement)
            self.statements[key] = query
        return query


@dataclass(frozen=True)
class TileRequest:
    """A validated tile request."""

    source: Source
    matrix_set: tms.TileMatrixSet
    z: int
    row: int
    col: int
    window: dict[str, dt.datetime] | None  # {t0, t1}: the time window, if any

    @property
    def window_key(self) -> str:
        """The window as text, for the ETag and the cache key ('' without one)."""
        w = self.window
        return "" if w is None else f"{w['t0'].isoformat()}/{w['t1'].isoformat()}"


class TileService:
    """Tile handlers for one OgcService (which knows the collections and the base URL).

    A tile request does as little Python as possible: the collection's plan
    (layer, statements) is kept per Source object and renewed when the API is
    rebuilt or the row estimate is older than a minute; the statement of shapes
    (not of clusters) is prepared once per connection, so the tile only binds its
    envelope.
    """

    def __init__(self, ogc: OgcService):
        self.ogc = ogc
        self._plans: dict[str, _LayerPlan] = {}
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

    async def _plan(self, conn: Any, source: Source) -> _LayerPlan:
        plan = self._plans.get(source.id)
        now = time.monotonic()
        if plan is None or plan.source is not source or now - plan.read_at > _STATS_TTL:
            rows = await _row_estimate(conn, source.table)
            plan = _LayerPlan(source, self._layer(source, rows), now)
            self._plans[source.id] = plan
        return plan

    # -- tiles --------------------------------------------------------------
    async def tile(self, request: Request) -> Response:
        p = request.path_params
        parts = (p["collection_id"], p["tms"], p["z"], p["row"], p["col"])
        answer = await self.answer(parts, request.query_params, request.url.path, request.headers)
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    async def parse(
        self,
        collection_id: str,
        tms_id: str,
        z_text: str,
        row_text: str,
        col_text: str,
        query: Mapping[str, str],
    ) -> TileRequest:
        """Path parts and query (`f`, `datetime`) checked; OnemapError names what is wrong."""
        z = tms.parse_index(z_text, "tileMatrix")
        row = tms.parse_index(row_text, "tileRow")
        col = tms.parse_index(col_text, "tileCol")
        unknown = sorted(set(query) - TILE_PARAMETERS)
        if unknown:
            raise InvalidParameter(
                unknown[0],
                f"unknown parameter for tiles; known: {', '.join(sorted(TILE_PARAMETERS))}",
            )
        f = query.get("f")
        if f is not None and f.lower() != "mvt":
            raise InvalidParameter("f", f"unsupported format {f!r} for tiles; use mvt")
        matrix_set = tms.get(tms_id)
        matrix_set.check(z, row, col)
        source = await self.ogc.source_async(collection_id)
        spec = BY_ID.get(source.id)
        if spec is not None and z < spec.tile_min_zoom:
            raise NotFound(
                f"collection {source.id!r} has tiles from tileMatrix {spec.tile_min_zoom} up "
                f"(a tile of tileMatrix {z} would hold too many features)"
            )
        return TileRequest(source, matrix_set, z, row, col, _window(source, query.get("datetime")))

    async def answer(
        self,
        parts: Sequence[str],
        query: Mapping[str, str],
        path: str,
        request_headers: Mapping[str, str],
    ) -> TileAnswer:
        """One tile request, from its path parts (collection, tileMatrixSet, tileMatrix,
        tileRow, tileCol), query and the request's (lower-case) conditional and
        Accept-Encoding headers; OnemapError for a bad request."""
        t = await self.parse(*parts, query)
        fast = self.ogc.fast
        change = await fast.versions.get_async(t.source.table, fast.db)
        tag = caching.etag(change, "tile", path, t.window_key, weak=False)
        headers = caching.validators(tag, change, caching.TILES_CACHE_CONTROL)
        if caching.not_modified(request_headers, tag, change):
            return TileAnswer(304, headers)
        key = (t.source.id, t.matrix_set.id, t.z, t.row, t.col, t.window_key)
        tile = self._cache.get(key, change)
        if tile is None:
            tile = await self._build(t)
            self._cache.put(key, change, tile)
        if not tile:
            return TileAnswer(204, headers)
        headers["Content-Type"] = MVT_TYPE
        body = caching.maybe_gzip(tile, caching.accepts_gzip(request_headers), headers)
        return TileAnswer(200, headers, body)

    async def _build(self, t: TileRequest) -> bytes:
        """The tile's MVT bytes from PostGIS (empty: no feature touches the tile)."""
        what = f"tile {t.z}/{t.row}/{t.col} of {t.source.id!r}"
        async with self.ogc.tile_db.checked_connection(what) as conn:
            plan = await self._plan(conn, t.source)
            kind = plan.layer.kind(t.z)
            values: dict[str, Any] = mvt.tile_values(plan.layer, t.matrix_set, t.z, t.row, t.col)
            if t.window is not None:
                values.update(t.window)
            statement = plan.statement(t.matrix_set, kind, t.window is not None)
            # clusters are not prepared: a generic plan, fine for a town's tile, is four
            # times slower for the district-wide tiles of the low zooms
            prepare = kind is not mvt.TileKind.CLUSTERS
            tile = await adb.fetch_bytes(conn, statement, values, prepare)
        return tile or b""

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
        spec = BY_ID.get(source.id)
        min_zoom = spec.tile_min_zoom if spec is not None else 0
        doc["layers"] = [
            {"id": source.id, "title": source.title, "dataType": "vector",
             "minTileMatrix": str(min_zoom), "maxTileMatrix": str(t.max_zoom)}
        ]  # fmt: skip
        if source.temporal:
            doc["description"] = _time_note(source, spec)
        # TileJSON 3.0 members, so MapLibre/Leaflet plugins can read the same document
        doc.update(
            {
                "tilejson": "3.0.0",
                "tiles": [template.replace("{tileMatrix}", "{z}").replace("{tileRow}", "{y}")
                          .replace("{tileCol}", "{x}")],
                "minzoom": min_zoom,
                "maxzoom": t.max_zoom,
                "bounds": extent,
                "vector_layers": [{"id": source.id, "fields": fields}],
            }
        )  # fmt: skip
        return doc


def _time_note(source: Source, spec: LayerSpec | None) -> str:
    """What a temporal layer's tiles show, for its tileset metadata."""
    if spec is not None and spec.tile_window_hours is not None:
        h = spec.tile_window_hours
        return (f"默认显示最近 {h} 小时;datetime= 指定时间范围 — without datetime the tiles show "
                f"the last {h} hours; datetime= (an instant or an interval) chooses the time")  # fmt: skip
    if source.current_filter:
        return ("默认显示现行版本;datetime= 显示当时的版本 — without datetime the tiles show the "
                "current versions; datetime= shows the versions in force then")  # fmt: skip
    return ("datetime= (时刻或时段) 筛选 — datetime= (an instant or an interval) keeps the "
            "features of that time")  # fmt: skip


def _window(source: Source, datetime_text: str | None) -> dict[str, dt.datetime] | None:
    """The time window of a tile: `datetime` on a temporal layer (ignored on others, as the
    items do), else the layer's default window (`tile_window_hours`), else none."""
    if not source.temporal:
        return None
    if datetime_text is not None:
        return mvt.time_window(params.parse_datetime(datetime_text))
    spec = BY_ID.get(source.id)
    if spec is None or spec.tile_window_hours is None:
        return None
    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    return {"t0": hour - dt.timedelta(hours=spec.tile_window_hours), "t1": mvt.TIME_MAX}


async def _row_estimate(conn: Any, table: str) -> float:
    """pg_class's row estimate of a table (of its partitions when it is partitioned)."""
    async with conn.cursor() as cur:
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
    return value


def _json(doc: dict[str, Any]) -> Response:
    return Response(
        json.dumps(doc, ensure_ascii=False).encode(),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )


def tile_routes(ogc: OgcService) -> list[BaseRoute]:
    """Routes relative to the /ogc mount."""
    tiles = ogc.tiles
    get = ["GET", "HEAD"]
    return [
        Route("/tileMatrixSets", tiles.matrix_sets, methods=get),
        Route("/tileMatrixSets/{tms}", tiles.matrix_set, methods=get),
        Route("/collections/{collection_id}/tiles", tiles.tilesets, methods=get),
        Route("/collections/{collection_id}/tiles/{tms}", tiles.tileset, methods=get),
        Route("/collections/{collection_id}/tiles/{tms}/{z}/{row}/{col}", tiles.tile, methods=get),
    ]
