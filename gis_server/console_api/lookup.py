"""SQL and parsing of the console's lookups: what is at a point, and search across layers.

Search takes a code, a name, a plate — or a coordinate typed either way round,
which is answered without the database.
"""

from __future__ import annotations

import json
import re

from psycopg import sql
from starlette.requests import Request

from gis_server.errors import InvalidConsoleParameter

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

# what the point lookup shows of each layer (events: the grid's count of open events)
POINT_LAYERS = ("towns", "grids", "cameras", "vehicles", "events")
_POINT_PARTS = {"town": ("towns", None), "grid": ("grids", None), "cameras": ("cameras", []),
                "vehicles": ("vehicles", [])}  # fmt: skip


def point_for(text: str, readable: frozenset[str]) -> str:
    """The point lookup's answer without the parts of layers the asker may not read."""
    if readable >= set(POINT_LAYERS):
        return text
    body = json.loads(text)
    for part, (layer, empty) in _POINT_PARTS.items():
        if layer not in readable:
            body[part] = empty
    if "events" not in readable and body.get("grid"):
        body["grid"].pop("open_events", None)
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"))


SEARCH_LAYERS = ("grids", "towns", "cameras", "vehicles", "events")  # the layers search reads
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
FROM hits WHERE layer = ANY(%(layers)s::text[])
""")

COORD_RE = re.compile(r"^\s*(-?\d{1,3}(?:\.\d+)?)\s*[,，\s]\s*(-?\d{1,3}(?:\.\d+)?)\s*$")


def like_pattern(text: str) -> str:
    """An ILIKE pattern matching `text` anywhere, its own % and _ taken literally."""
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


def float_param(request: Request, name: str, lo: float, hi: float) -> float:
    """A number between `lo` and `hi` (e.g. the point query's lon and lat)."""
    raw = request.query_params.get(name)
    try:
        value = float(raw) if raw is not None else None
    except ValueError:
        value = None
    if value is None or not (lo <= value <= hi):
        raise InvalidConsoleParameter(name, f"must be a number between {lo} and {hi}")
    return value
