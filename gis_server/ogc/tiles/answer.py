"""Answering one tile request: validate it, then the cached tile or one ST_AsMVT statement.

Used by the routed handler (`tiles/routes.py`) and by the fast lane
(`tiles/fast_lane.py`), which calls `TileService.answer` straight from the ASGI scope.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg import sql

from gis_server.auth.district_scope import SCOPE_PLACEHOLDER, scope_headers
from gis_server.database import ident
from gis_server.errors import InvalidParameter, NotFound
from gis_server.ogc import adb, caching, cql2, params
from gis_server.ogc.cql2_sql import to_sql
from gis_server.ogc.query import SqlFilter
from gis_server.ogc.row_estimate import row_estimate
from gis_server.ogc.source import Source, SourceLookup
from gis_server.ogc.sql import Binds
from gis_server.ogc.tiles import mvt, tms
from gis_server.ogc.tiles.cache import TileCache
from layers.registry import BY_ID

DistrictOf = Callable[[Collection[str]], Awaitable[str | None]]
TILE_TIMEOUT_MS = 5000  # the statement timeout of the tiles' own pool
TILE_PARAMETERS = frozenset({"f", "datetime", "filter", "filter-lang"})
_FILTERED_STATEMENTS = 256  # composed statements of filtered tiles kept per collection
_STATS_TTL = 60.0


@dataclass
class TileAnswer:
    """A tile response before it is sent (by the routed handler or the fast lane)."""

    status: int
    headers: dict[str, str]
    body: bytes = b""


@dataclass
class LayerPlan:
    """A collection's TileLayer and its composed statements, for one Source object."""

    source: Source
    layer: mvt.TileLayer
    read_at: float  # when the row estimate (which picks the zoom bands) was read
    statements: dict[tuple[str, mvt.TileKind, bool, str], bytes] = field(default_factory=dict)

    def statement(
        self,
        matrix_set: tms.TileMatrixSet,
        kind: mvt.TileKind,
        timed: bool,
        tile_filter: TileFilter | None = None,
    ) -> bytes:
        """The kind's statement as query bytes, composed on first use (per filter text:
        a console asks for the same few filters tile after tile)."""
        key = (matrix_set.id, kind, timed, tile_filter.key if tile_filter else "")
        query = self.statements.get(key)
        if query is None:
            condition = tile_filter.sql.condition if tile_filter else None
            statement = mvt.tile_statement(self.layer, matrix_set, kind, timed, condition)
            query = adb.compile_query(statement)
            if tile_filter is not None and len(self.statements) >= _FILTERED_STATEMENTS:
                self.statements = {k: v for k, v in self.statements.items() if not k[3]}
            self.statements[key] = query
        return query


@dataclass(frozen=True)
class TileFilter:
    """A tile's CQL2 `filter`, compiled: `key` (language + text) names it in ETags and caches."""

    key: str
    sql: SqlFilter


def tile_filter(source: Source, query: Mapping[str, str]) -> TileFilter | None:
    """`filter` / `filter-lang` as the items take them (CQL2 text or JSON, on the
    collection's queryables); a bad filter is a 400 naming the parameter."""
    lang = query.get("filter-lang")
    if lang is not None and lang.lower() not in ("cql2-text", "cql2-json"):
        raise InvalidParameter("filter-lang", f"unsupported {lang!r}; use cql2-text or cql2-json")
    text = query.get("filter")
    if text is None:
        return None
    binds = Binds()
    condition = to_sql(cql2.parse(text, lang and lang.lower()), source, binds)
    return TileFilter(f"{(lang or 'cql2-text').lower()}:{text}", SqlFilter(condition, binds.values))


def scoped_filter(base: TileFilter | None, district: str) -> TileFilter:
    """`base` (or nothing) AND the reader's district: its key names the district, so the
    tile cache and the ETag keep a scoped reader's tiles apart from everyone else's."""
    own = sql.SQL("{} = {}").format(ident("district_code"), sql.Placeholder(SCOPE_PLACEHOLDER))
    values: dict[str, object] = {SCOPE_PLACEHOLDER: district}
    if base is None:
        return TileFilter(f"district:{district}", SqlFilter(own, values))
    condition = sql.SQL("({}) AND {}").format(base.sql.condition, own)
    values.update(base.sql.values)
    return TileFilter(f"{base.key}\x1fdistrict:{district}", SqlFilter(condition, values))


@dataclass(frozen=True)
class TileRequest:
    """A validated tile request."""

    source: Source
    matrix_set: tms.TileMatrixSet
    z: int
    row: int
    col: int
    window: dict[str, dt.datetime] | None  # {t0, t1}: the time window, if any
    filter: TileFilter | None = None

    @property
    def window_key(self) -> str:
        """The window (and filter) as text, for the ETag and the cache key ('' without)."""
        w = self.window
        key = "" if w is None else f"{w['t0'].isoformat()}/{w['t1'].isoformat()}"
        return key if self.filter is None else f"{key}\x1f{self.filter.key}"


def tile_layer(source: Source, rows: float) -> mvt.TileLayer:
    """The collection as tiles draw it: points or shapes, and the light attributes that the
    low zooms carry (id, the style property, the name)."""
    spec = BY_ID.get(source.id)
    light = [source.id_column]
    if spec is not None and spec.style.by_property:
        light.append(spec.style.by_property)
    if source.column("name") is not None:
        light.append("name")
    light = [c for i, c in enumerate(light) if c in source.names and c not in light[:i]]
    points = spec is not None and spec.geometry_type == "Point"
    style = spec.style.by_property if spec is not None else None
    cluster_property = style if style in source.names else None
    return mvt.TileLayer(source, points, tuple(light), rows, cluster_property)


class TileService:
    """Tile answers, from the collections (`sources`), the layers' change counters
    (`versions`, read through `versions_db`) and the tiles' own pool (`db`).

    A tile request does as little Python as possible: the collection's plan
    (layer, statements) is kept per Source object and renewed when the API is
    rebuilt or the row estimate is older than a minute; the statement of shapes
    (not of clusters) is prepared once per connection, so the tile only binds its
    envelope.
    """

    def __init__(
        self,
        sources: SourceLookup,
        versions: caching.LayerVersions,
        versions_db: adb.AsyncDB,
        db: adb.AsyncDB,
        cache_bytes: int,
    ):
        self.sources = sources
        self.versions = versions
        self.versions_db = versions_db
        self.db = db
        self._plans: dict[str, LayerPlan] = {}
        self._cache = TileCache(cache_bytes)

    async def parse(
        self,
        collection_id: str,
        tms_id: str,
        z_text: str,
        row_text: str,
        col_text: str,
        query: Mapping[str, str],
    ) -> TileRequest:
        """Path parts and query (`f`, `datetime`, `filter`) checked; OnemapError names what
        is wrong."""
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
        source = await self.sources(collection_id)
        spec = BY_ID.get(source.id)
        if spec is not None and z < spec.tile_min_zoom:
            raise NotFound(
                f"collection {source.id!r} has tiles from tileMatrix {spec.tile_min_zoom} up "
                f"(a tile of tileMatrix {z} would hold too many features)"
            )
        window = _window(source, query.get("datetime"))
        return TileRequest(source, matrix_set, z, row, col, window, tile_filter(source, query))

    async def answer(
        self,
        parts: Sequence[str],
        query: Mapping[str, str],
        path: str,
        request_headers: Mapping[str, str],
        reader: DistrictOf | None = None,
    ) -> TileAnswer:
        """One tile request, from its path parts (collection, tileMatrixSet, tileMatrix,
        tileRow, tileCol), query and the request's (lower-case) conditional and
        Accept-Encoding headers; `reader` gives the asker's district on a collection of
        these columns (a district-scoped account sees only its district's features);
        OnemapError for a bad request."""
        t = await self.parse(*parts, query)
        district = await reader(t.source.names) if reader is not None else None
        if district is not None:
            t = dataclasses.replace(t, filter=scoped_filter(t.filter, district))
        change = caching.clocked(
            await self.versions.get_async(t.source.table, self.versions_db), t.source.clock_s
        )
        tag = caching.etag(change, "tile", path, t.window_key, weak=False)
        headers = caching.validators(tag, change, caching.TILES_CACHE_CONTROL)
        scope_headers(headers, district, t.source.names)
        if caching.not_modified(request_headers, tag, change):
            return TileAnswer(304, headers)
        key = (t.source.id, t.matrix_set.id, t.z, t.row, t.col, t.window_key)
        tile = self._cache.get(key, change)
        if tile is None:
            tile = await self._build(t)
            self._cache.put(key, change, tile)
        if not tile:
            return TileAnswer(204, headers)
        headers["Content-Type"] = mvt.MVT_TYPE
        body = caching.maybe_gzip(tile, caching.accepts_gzip(request_headers), headers)
        return TileAnswer(200, headers, body)

    async def _build(self, t: TileRequest) -> bytes:
        """The tile's MVT bytes from PostGIS (empty: no feature touches the tile)."""
        what = f"tile {t.z}/{t.row}/{t.col} of {t.source.id!r}"
        async with self.db.checked_connection(what) as conn:
            plan = await self._plan(conn, t.source)
            kind = plan.layer.kind(t.z)
            values: dict[str, Any] = mvt.tile_values(plan.layer, t.matrix_set, t.z, t.row, t.col)
            if t.window is not None:
                values.update(t.window)
            if t.filter is not None:
                values.update(t.filter.sql.values)
            statement = plan.statement(t.matrix_set, kind, t.window is not None, t.filter)
            # clusters are not prepared: a generic plan, fine for a town's tile, is four
            # times slower for the district-wide tiles of the low zooms; nor are filtered
            # tiles (one prepared statement per filter text would pile up per connection)
            prepare = kind is not mvt.TileKind.CLUSTERS and t.filter is None
            tile = await adb.fetch_bytes(conn, statement, values, prepare)
        return tile or b""

    async def _plan(self, conn: Any, source: Source) -> LayerPlan:
        plan = self._plans.get(source.id)
        now = time.monotonic()
        if plan is None or plan.source is not source or now - plan.read_at > _STATS_TTL:
            async with conn.cursor() as cur:
                rows = await row_estimate(cur, source.table)
            plan = LayerPlan(source, tile_layer(source, rows), now)
            self._plans[source.id] = plan
        return plan


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
