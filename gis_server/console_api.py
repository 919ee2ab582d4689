"""The console's small JSON API (/api/console/...): what the big screen draws and asks.

Why not the OGC API: the console needs a few shapes the OGC API does not give
cheaply — simplified polygons with per-grid counts, compact row arrays for
20,000 cameras, per-town figures, search across layers and a point query.
Every JSON body is built inside PostGIS (one text value per query), values are
bound parameters, and reporter contacts (event_contacts) are never read here.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from psycopg2 import sql
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gis_server.database import pooled
from gis_server.settings import Settings
from layers import vocab
from layers.registry import GRIDS

SIMPLIFY_DEG = 0.00001  # ≈ 1 m: invisible on screen, drops collinear vertices
DIGITS = 5  # 5 decimals of a degree ≈ 1.1 m
OPEN_STATUSES = tuple(s for s in vocab.EVENT_STATUSES if s != "closed")
WINDOWS = {"all": None, "today": "today", "24h": "24 hours", "7d": "7 days", "30d": "30 days"}


class ApiError(Exception):
    """A request the console API refuses; mapped to a JSON error body."""

    status = 400
    code = "InvalidParameter"

    def __init__(self, description: str):
        super().__init__(description)
        self.description = description


class NotFound(ApiError):
    status = 404
    code = "NotFound"


def error_response(exc: ApiError) -> JSONResponse:
    return JSONResponse({"code": exc.code, "description": exc.description}, exc.status)


class Cached:
    """A JSON body, its validator (a digest of the body) and its gzip, made once."""

    def __init__(self, body: str | bytes):
        self.data = body.encode() if isinstance(body, str) else body
        self.etag = '"' + hashlib.blake2b(self.data, digest_size=12).hexdigest() + '"'
        self._gzip: bytes | None = None

    @property
    def gzipped(self) -> bytes:
        if self._gzip is None:
            self._gzip = gzip.compress(self.data, compresslevel=5)
        return self._gzip


def json_bytes_response(request: Request, body: str | bytes | Cached, max_age: int = 0) -> Response:
    """A JSON body built by PostGIS with an ETag (a screen that polls gets 304 until it
    changes), gzipped when the browser accepts it (most are large)."""
    doc = body if isinstance(body, Cached) else Cached(body)
    headers = {"Cache-Control": f"max-age={max_age}" if max_age else "no-cache", "ETag": doc.etag}
    wanted = request.headers.get("if-none-match", "")
    if doc.etag in (t.strip().removeprefix("W/") for t in wanted.split(",")):
        return Response(status_code=304, headers=headers)
    data = doc.data
    if len(data) > 1024 and "gzip" in request.headers.get("accept-encoding", ""):
        data = doc.gzipped
        headers["Content-Encoding"] = "gzip"
        headers["Vary"] = "Accept-Encoding"
    return Response(data, media_type="application/json", headers=headers)


def compact(text: str) -> str:
    """PostgreSQL pretty-prints json_build_* (" : ", ", "); drop the spaces (~10 % smaller)."""
    return json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))


class TtlCache:
    """Tiny per-process cache: a big screen and its neighbours ask for the same layers.

    An entry is good for `ttl` seconds and only for the `stamp` it was made with
    (the versions of the tables it reads, from layer_changes), so an edit shows
    on the next request, not a TTL later.
    """

    def __init__(self) -> None:
        self._items: dict[Any, tuple[float, str, Cached]] = {}
        self._lock = threading.Lock()

    def get(self, key: Any, ttl: float, produce: Callable[[], str], stamp: str = "") -> Cached:
        now = time.monotonic()
        with self._lock:
            hit = self._items.get(key)
        if hit and hit[0] > now and hit[1] == stamp:
            return hit[2]
        value = Cached(produce())
        with self._lock:
            self._items[key] = (now + ttl, stamp, value)
        return value


def _lonlat(geom: str) -> sql.Composable:
    """Rounded [lon, lat] of a point expression, as JSON numbers."""
    g = sql.SQL(geom)
    return sql.SQL("round(ST_X({g})::numeric, {d}), round(ST_Y({g})::numeric, {d})").format(
        g=g, d=sql.Literal(DIGITS)
    )


def _geojson(geom: str) -> sql.Composable:
    return sql.SQL("ST_AsGeoJSON(ST_SimplifyPreserveTopology({g}, {tol}), {d})::json").format(
        g=sql.SQL(geom), tol=sql.Literal(SIMPLIFY_DEG), d=sql.Literal(DIGITS)
    )


VERSIONS_SQL = (
    "SELECT coalesce(string_agg(layer || ':' || version, ',' ORDER BY layer), '') "
    "FROM layer_changes WHERE layer = ANY(%s)"
)

TOWNS_SQL = sql.SQL("""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', t.code, 'geometry', {geom},
    'properties', json_build_object('code', t.code, 'name', t.name, 'kind', t.kind,
      'area_km2', round(t.area_km2::numeric, 2), 'label', json_build_array({label})))
  ORDER BY t.code), '[]'))::text
FROM towns t, LATERAL ST_PointOnSurface(t.geom) AS lp
""").format(geom=_geojson("t.geom"), label=_lonlat("lp"))

GRIDS_SQL = sql.SQL("""
WITH open_events AS (
  SELECT grid_code, count(*) AS n FROM events WHERE status <> 'closed' GROUP BY grid_code
)
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', g.code, 'geometry', {geom},
    'properties', json_build_object('code', g.code, 'name', g.name, 'town_code', g.town_code,
      'town_name', t.name, 'grid_type', g.grid_type, 'worker_name', g.worker_name,
      'worker_phone', g.worker_phone, 'population', g.population, 'version', g.version,
      'open_events', coalesce(o.n, 0), 'label', json_build_array({label})))
  ORDER BY g.code), '[]'))::text
FROM grids g
LEFT JOIN towns t ON t.code = g.town_code
LEFT JOIN open_events o ON o.grid_code = g.code
CROSS JOIN LATERAL ST_PointOnSurface(g.geom) AS lp
WHERE {current}
""").format(
    geom=_geojson("g.geom"),
    label=_lonlat("lp"),
    current=sql.SQL((GRIDS.current_filter or "TRUE").replace("valid_to", "g.valid_to")),
)

ZONES_SQL = sql.SQL("""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', z.code, 'geometry', {geom},
    'properties', json_build_object('code', z.code, 'name', z.name, 'river', z.river,
      'zone_kind', z.zone_kind, 'river_chief', z.river_chief,
      'river_chief_level', z.river_chief_level, 'town_code', z.town_code,
      'area_km2', round(z.area_km2::numeric, 3)))
  ORDER BY z.code), '[]'))::text
FROM river_patrol_zones z
""").format(geom=_geojson("z.geom"))

CAMERAS_SQL = sql.SQL("""
SELECT json_build_object(
  'fields', json_build_array('code', 'name', 'kind', 'status', 'stream_url', 'lon', 'lat'),
  'rows', coalesce(json_agg(json_build_array(code, name, kind, status, stream_url, {ll})
    ORDER BY code), '[]'))::text
FROM cameras
""").format(ll=_lonlat("geom"))

VEHICLES_SQL = sql.SQL("""
SELECT json_build_object('now', now(),
  'fields', json_build_array('code', 'plate', 'kind', 'company', 'speed_kmh', 'heading',
                             'last_fix_at', 'lon', 'lat'),
  'rows', coalesce(json_agg(json_build_array(code, plate, kind, company,
      round(speed_kmh::numeric, 1), round(heading::numeric), last_fix_at, {ll})
    ORDER BY code), '[]'))::text
FROM vehicles WHERE geom IS NOT NULL
""").format(ll=_lonlat("geom"))

CATEGORIES_SQL = sql.SQL("""
SELECT json_build_object('categories', coalesce(json_agg(json_build_object('name', category, 'count', n)
  ORDER BY n DESC), '[]'))::text
FROM (SELECT category, count(*) AS n FROM events GROUP BY category) c
""")

TOWN_STATS_SQL = sql.SQL("""
WITH b AS (SELECT date_trunc('day', now()) AS day0, now() - interval '30 days' AS d30),
per_town AS (
  SELECT t.code, t.name,
    count(e.gid) FILTER (WHERE e.created_at >= b.day0) AS today,
    count(e.gid) FILTER (WHERE e.status <> 'closed') AS open,
    count(e.gid) FILTER (WHERE e.status <> 'closed' AND e.due_at < now()) AS overdue,
    count(e.gid) FILTER (WHERE e.created_at >= b.d30) AS total_30d,
    count(e.gid) FILTER (WHERE e.created_at >= b.d30 AND e.status = 'closed') AS closed_30d
  FROM towns t CROSS JOIN b
  LEFT JOIN events e ON e.town_code = t.code AND (e.created_at >= b.d30 OR e.status <> 'closed')
  GROUP BY t.code, t.name
)
SELECT json_build_object('generated_at', now(), 'day', (SELECT day0::date FROM b),
  'towns', coalesce(json_agg(json_build_object('code', code, 'name', name, 'today', today,
      'open', open, 'overdue', overdue, 'total_30d', total_30d, 'closed_30d', closed_30d,
      'closure_rate', CASE WHEN total_30d > 0 THEN round(closed_30d::numeric / total_30d, 4) END)
    ORDER BY open DESC, code), '[]'))::text
FROM per_town
""")

TRACK_DAYS_SQL = sql.SQL("""
SELECT json_build_object('vehicle', %(v)s, 'days', coalesce(json_agg(json_build_object(
  'day', day, 'code', code, 'fix_count', fix_count, 'distance_km', round(distance_km::numeric, 2),
  'started_at', started_at, 'ended_at', ended_at) ORDER BY day DESC), '[]'))::text
FROM vehicle_tracks WHERE vehicle_code = %(v)s
""")

TRACK_SQL = sql.SQL("""
SELECT json_build_object('code', t.code, 'vehicle_code', t.vehicle_code, 'plate', t.plate,
  'kind', t.kind, 'day', t.day, 'started_at', t.started_at, 'ended_at', t.ended_at,
  'fix_count', t.fix_count, 'distance_km', round(t.distance_km::numeric, 2),
  'fields', json_build_array('lon', 'lat', 't'),
  'points', (SELECT json_agg(json_build_array(round(ST_X(p.geom)::numeric, 6),
       round(ST_Y(p.geom)::numeric, 6), ST_M(p.geom)) ORDER BY p.path)
     FROM ST_DumpPoints(t.geom) AS p))::text
FROM vehicle_tracks t WHERE t.vehicle_code = %(v)s AND t.day = %(d)s
""")

POINT_SQL = sql.SQL("""
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g),
town AS (SELECT json_build_object('code', t.code, 'name', t.name) AS j
  FROM towns t, p WHERE ST_Intersects(t.geom, p.g) LIMIT 1),
grid AS (SELECT json_build_object('code', g.code, 'name', g.name, 'town_code', g.town_code,
    'town_name', (SELECT t.name FROM towns t WHERE t.code = g.town_code),
    'grid_type', g.grid_type, 'worker_name', g.worker_name, 'worker_phone', g.worker_phone,
    'population', g.population, 'version', g.version,
    'open_events', (SELECT count(*) FROM events e WHERE e.grid_code = g.code AND e.status <> 'closed')) AS j
  FROM grids g, p WHERE ST_Intersects(g.geom, p.g) AND g.valid_to IS NULL LIMIT 1),
cams AS (SELECT c.code, c.name, c.kind, c.status, c.stream_url, c.geom,
    ST_Distance(c.geom::geography, p.g::geography) AS dist
  FROM (SELECT * FROM cameras, p ORDER BY cameras.geom <-> p.g LIMIT %(pre)s) c, p
  ORDER BY dist LIMIT %(k)s),
vehs AS (SELECT v.code, v.plate, v.kind, v.speed_kmh, v.last_fix_at, v.geom,
    ST_Distance(v.geom::geography, p.g::geography) AS dist
  FROM (SELECT vehicles.* FROM vehicles, p WHERE vehicles.geom IS NOT NULL
        ORDER BY vehicles.geom <-> p.g LIMIT %(pre)s) v, p
  ORDER BY dist LIMIT %(k)s)
SELECT json_build_object('lon', %(lon)s, 'lat', %(lat)s,
  'town', (SELECT j FROM town), 'grid', (SELECT j FROM grid),
  'cameras', (SELECT coalesce(json_agg(json_build_object('code', code, 'name', name, 'kind', kind,
      'status', status, 'stream_url', stream_url, 'lon', round(ST_X(geom)::numeric, 6),
      'lat', round(ST_Y(geom)::numeric, 6), 'distance_m', round(dist::numeric, 1)) ORDER BY dist), '[]')
    FROM cams),
  'vehicles', (SELECT coalesce(json_agg(json_build_object('code', code, 'plate', plate,
      'kind', kind, 'speed_kmh', speed_kmh, 'last_fix_at', last_fix_at,
      'lon', round(ST_X(geom)::numeric, 6), 'lat', round(ST_Y(geom)::numeric, 6),
      'distance_m', round(dist::numeric, 1)) ORDER BY dist), '[]') FROM vehs))::text
""")

SEARCH_SQL = sql.SQL("""
WITH hits AS (
 (SELECT 'grid' AS kind, 'grids' AS layer, g.code, g.name || ' ' || g.code AS label, lp AS pt, 0 AS rank
  FROM grids g, LATERAL ST_PointOnSurface(g.geom) lp
  WHERE g.valid_to IS NULL AND (g.code ILIKE %(p)s OR g.name ILIKE %(p)s)
  ORDER BY g.code <> %(q)s, g.code LIMIT %(n)s)
 UNION ALL
 (SELECT 'town', 'towns', t.code, t.name, ST_PointOnSurface(t.geom), 1 FROM towns t
  WHERE t.code = %(q)s OR t.name ILIKE %(p)s ORDER BY t.code LIMIT %(n)s)
 UNION ALL
 (SELECT 'camera', 'cameras', c.code, c.name, c.geom, 2 FROM cameras c
  WHERE c.code = %(q)s OR c.name ILIKE %(p)s ORDER BY c.code <> %(q)s, c.name LIMIT %(n)s)
 UNION ALL
 (SELECT 'vehicle', 'vehicles', v.code, v.plate, v.geom, 3 FROM vehicles v
  WHERE v.geom IS NOT NULL AND (v.code = %(q)s OR v.plate ILIKE %(p)s)
  ORDER BY v.plate LIMIT %(n)s)
 UNION ALL
 (SELECT 'event', 'events', e.code, e.code || ' ' || e.title, e.geom, 4 FROM events e
  WHERE e.code = %(q)s OR e.code LIKE %(prefix)s ORDER BY e.code LIMIT %(n)s)
)
SELECT json_build_object('q', %(q)s, 'hits', coalesce(json_agg(json_build_object(
  'kind', kind, 'layer', layer, 'code', code, 'label', label,
  'lon', round(ST_X(pt)::numeric, 6), 'lat', round(ST_Y(pt)::numeric, 6)) ORDER BY rank), '[]'))::text
FROM hits
""")

COORD_RE = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,，\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def parse_coordinate(text: str) -> tuple[float, float] | None:
    """'121.2,31.9' (lon,lat) — or lat,lon typed the other way round — to (lon, lat)."""
    m = COORD_RE.match(text)
    if not m:
        return None
    a, b = float(m.group(1)), float(m.group(2))
    if abs(a) <= 90 < abs(b) <= 180:
        a, b = b, a
    if not (-180 <= a <= 180 and -90 <= b <= 90):
        return None
    return a, b


def _float_param(request: Request, name: str, lo: float, hi: float) -> float:
    raw = request.query_params.get(name)
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        value = None
    if value is None or not (lo <= value <= hi):
        raise ApiError(f"parameter {name!r} must be a number between {lo} and {hi}")
    return value


def _list_param(request: Request, name: str, allowed: tuple[str, ...] | None) -> list[str]:
    raw = request.query_params.get(name, "")
    values = [v for v in (p.strip() for p in raw.split(",")) if v]
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ApiError(
                f"parameter {name!r}: unknown value(s) {', '.join(bad)}; allowed: {', '.join(allowed)}"
            )
    return values


def events_query(request: Request, max_limit: int) -> tuple[sql.Composable, dict[str, Any]]:
    """SQL and params for /events from status, category, window and limit."""
    statuses = request.query_params.get("status", "open")
    if statuses == "open":
        status_list = list(OPEN_STATUSES)
    elif statuses == "all":
        status_list = list(vocab.EVENT_STATUSES)
    else:
        status_list = _list_param(request, "status", tuple(vocab.EVENT_STATUSES))
    window = request.query_params.get("window", "all")
    if window not in WINDOWS:
        raise ApiError(f"parameter 'window' must be one of {', '.join(WINDOWS)}")
    try:
        limit = int(request.query_params.get("limit", max_limit))
    except ValueError:
        raise ApiError("parameter 'limit' must be an integer") from None
    if not 1 <= limit <= max_limit:
        raise ApiError(f"parameter 'limit' must be between 1 and {max_limit}")
    where = [sql.SQL("status = ANY(%(statuses)s)")]
    params: dict[str, Any] = {"statuses": status_list, "limit": limit}
    categories = _list_param(request, "category", None)
    if categories:
        where.append(sql.SQL("category = ANY(%(categories)s)"))
        params["categories"] = categories
    if WINDOWS[window] == "today":
        where.append(sql.SQL("created_at >= date_trunc('day', now())"))
    elif WINDOWS[window]:
        where.append(sql.SQL("created_at >= now() - %(window)s::interval"))
        params["window"] = WINDOWS[window]
    query = sql.SQL("""
WITH sel AS (SELECT * FROM events WHERE {where}),
page AS (SELECT * FROM sel ORDER BY created_at DESC LIMIT %(limit)s)
SELECT json_build_object('total', (SELECT count(*) FROM sel), 'limit', %(limit)s,
  'fields', json_build_array('code', 'category', 'status', 'priority', 'title', 'created_at',
                             'due_at', 'grid_code', 'lon', 'lat'),
  'rows', coalesce((SELECT json_agg(json_build_array(code, category, status, priority, title,
      created_at, due_at, grid_code, {ll}) ORDER BY created_at DESC) FROM page), '[]'))::text
""").format(where=sql.SQL(" AND ").join(where), ll=_lonlat("geom"))
    return query, params


class ConsoleApi:
    """Handlers of /api/console/...; one instance per app, holding settings and a cache."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.cache = TtlCache()

    def _fetch(self, query: sql.Composable, params: dict[str, Any] | None = None) -> str | None:
        with pooled(self.settings.database.dsn, self.settings.database.pool_size) as conn:
            with conn.cursor() as cur:
                # Session-local: timestamps on the wire carry +08:00, "today" is a Shanghai day.
                cur.execute("SET LOCAL TIME ZONE 'Asia/Shanghai'")
                cur.execute(query, params or {})
                row = cur.fetchone()
        return row[0] if row else None

    def _cached(
        self, key: Any, ttl: float, query: sql.Composable, tables: tuple[str, ...] = ()
    ) -> Cached:
        """The query's body, cached for `ttl` seconds while `tables` do not change."""
        stamp = self._versions(tables) if tables else ""
        return self.cache.get(key, ttl, lambda: compact(self._fetch(query) or "null"), stamp)

    def _versions(self, tables: tuple[str, ...]) -> str:
        """The change counters of `tables` (layer_changes, bumped by every write), as text."""
        with pooled(self.settings.database.dsn, self.settings.database.pool_size) as conn:
            with conn.cursor() as cur:
                cur.execute(VERSIONS_SQL, (list(tables),))
                return cur.fetchone()[0]

    def handle(self, fn: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """Wrap a handler so ApiErrors become JSON error bodies (sync: runs in the threadpool)."""

        def endpoint(request: Request) -> Response:
            try:
                return fn(request)
            except ApiError as exc:
                return error_response(exc)

        endpoint.__name__ = fn.__name__
        return endpoint

    # The layers the console polls (`console.layers_refresh_s`): cached per table versions,
    # validated by ETag, and never cached by the browser without asking.
    def towns(self, request: Request) -> Response:
        return json_bytes_response(request, self._cached("towns", 60, TOWNS_SQL, ("towns",)))

    def grids(self, request: Request) -> Response:
        body = self._cached("grids", 30, GRIDS_SQL, ("grids", "towns", "events"))
        return json_bytes_response(request, body)

    def zones(self, request: Request) -> Response:
        body = self._cached("zones", 60, ZONES_SQL, ("river_patrol_zones",))
        return json_bytes_response(request, body)

    def cameras(self, request: Request) -> Response:
        return json_bytes_response(request, self._cached("cameras", 30, CAMERAS_SQL, ("cameras",)))

    def vehicles(self, request: Request) -> Response:
        return json_bytes_response(request, self._cached("vehicles", 1, VEHICLES_SQL))

    def events(self, request: Request) -> Response:
        query, params = events_query(request, self.settings.console.events_limit)
        key = ("events", tuple(sorted((k, str(v)) for k, v in params.items())))
        body = self.cache.get(key, 5, lambda: compact(self._fetch(query, params) or "null"))
        return json_bytes_response(request, body)

    def categories(self, request: Request) -> Response:
        return json_bytes_response(request, self._cached("categories", 300, CATEGORIES_SQL))

    def town_stats(self, request: Request) -> Response:
        return json_bytes_response(request, self._cached("town_stats", 5, TOWN_STATS_SQL))

    def track_days(self, request: Request) -> Response:
        vehicle = request.path_params["vehicle"]
        return json_bytes_response(request, self._fetch(TRACK_DAYS_SQL, {"v": vehicle}) or "null")

    def track(self, request: Request) -> Response:
        vehicle = request.path_params["vehicle"]
        try:
            day = dt.date.fromisoformat(request.path_params["day"])
        except ValueError:
            raise ApiError("day must be a date YYYY-MM-DD") from None
        body = self._fetch(TRACK_SQL, {"v": vehicle, "d": day})
        if body is None:
            raise NotFound(f"no track of vehicle {vehicle!r} on {day.isoformat()}")
        return json_bytes_response(request, body)

    def point(self, request: Request) -> Response:
        lon = _float_param(request, "lon", -180, 180)
        lat = _float_param(request, "lat", -90, 90)
        params = {"lon": lon, "lat": lat, "k": 5, "pre": 25}
        return json_bytes_response(request, self._fetch(POINT_SQL, params) or "null")

    def search(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        if not q or len(q) > 100:
            raise ApiError("parameter 'q' must be 1 to 100 characters")
        coord = parse_coordinate(q)
        if coord:
            hit = {
                "kind": "coordinate",
                "layer": None,
                "code": None,
                "label": q,
                "lon": coord[0],
                "lat": coord[1],
            }
            return JSONResponse({"q": q, "hits": [hit]})
        params = {"q": q, "p": _like(q), "prefix": q.upper().replace("%", "") + "%", "n": 8}
        return json_bytes_response(request, self._fetch(SEARCH_SQL, params) or "null")
