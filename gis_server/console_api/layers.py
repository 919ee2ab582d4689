"""SQL of what the console's map draws: the polled layers, vehicles and vehicle tracks.

Each query returns one JSON text built by PostGIS: polygons simplified and
rounded (invisible on screen, much smaller), points as compact row arrays.
The layers' bodies take `%(district)s` (NULL: the whole city; see districts.py).
"""

from __future__ import annotations

from psycopg import sql

from layers.registry import GRIDS

SIMPLIFY_DEG = 0.00001  # ≈ 1 m: invisible on screen, drops collinear vertices
DIGITS = 5  # 5 decimals of a degree ≈ 1.1 m
IN_DISTRICT = "(%(district)s::text IS NULL OR {a}.district_code = %(district)s)"


def lonlat_sql(geom: str) -> sql.Composable:
    """Rounded [lon, lat] of a point expression, as JSON numbers."""
    g = sql.SQL(geom)
    return sql.SQL("round(ST_X({g})::numeric, {d}), round(ST_Y({g})::numeric, {d})").format(
        g=g, d=sql.Literal(DIGITS)
    )


def geojson_sql(geom: str) -> sql.Composable:
    """A geometry as GeoJSON, simplified below what a screen shows, rounded to DIGITS."""
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
      'area_km2', round(t.area_km2::numeric, 2), 'district_code', t.district_code,
      'label', json_build_array({label})))
  ORDER BY t.code), '[]'))::text
FROM towns t, LATERAL ST_PointOnSurface(t.geom) AS lp
WHERE {district}
""").format(
    geom=geojson_sql("t.geom"), label=lonlat_sql("lp"), district=sql.SQL(IN_DISTRICT.format(a="t"))
)

_GRIDS = """
WITH open_events AS (
  SELECT grid_code, count(*) AS n FROM events WHERE status <> 'closed' GROUP BY grid_code
)
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', g.code, 'geometry', {geom},
    'properties', json_build_object('code', g.code, 'name', g.name, 'town_code', g.town_code,
      'district_code', g.district_code,
      'town_name', t.name, 'grid_type', g.grid_type, 'worker_name', g.worker_name,
      'worker_phone', g.worker_phone, 'population', g.population, 'version', g.version,
      {open_events}'label', json_build_array({label})))
  ORDER BY g.code), '[]'))::text
FROM grids g
LEFT JOIN towns t ON t.code = g.town_code
LEFT JOIN open_events o ON o.grid_code = g.code
CROSS JOIN LATERAL ST_PointOnSurface(g.geom) AS lp
WHERE {current} AND {district}
"""


def _grids_sql(open_events: bool) -> sql.Composed:
    """The grids body; without each grid's count of open events for those who may not
    read `events` (its read policy)."""
    return sql.SQL(_GRIDS).format(
        geom=geojson_sql("g.geom"),
        label=lonlat_sql("lp"),
        current=sql.SQL((GRIDS.current_filter or "TRUE").replace("valid_to", "g.valid_to")),
        open_events=sql.SQL("'open_events', coalesce(o.n, 0), " if open_events else ""),
        district=sql.SQL(IN_DISTRICT.format(a="g")),
    )


GRIDS_SQL = _grids_sql(True)
GRIDS_WITHOUT_EVENTS_SQL = _grids_sql(False)

ZONES_SQL = sql.SQL("""
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(
  json_build_object('type', 'Feature', 'id', z.code, 'geometry', {geom},
    'properties', json_build_object('code', z.code, 'name', z.name, 'river', z.river,
      'zone_kind', z.zone_kind, 'river_chief', z.river_chief,
      'river_chief_level', z.river_chief_level, 'town_code', z.town_code,
      'area_km2', round(z.area_km2::numeric, 3), 'district_code', z.district_code))
  ORDER BY z.code), '[]'))::text
FROM river_patrol_zones z
WHERE {district}
""").format(geom=geojson_sql("z.geom"), district=sql.SQL(IN_DISTRICT.format(a="z")))

CAMERAS_SQL = sql.SQL("""
SELECT json_build_object(
  'fields', json_build_array('code', 'name', 'kind', 'status', 'stream_url', 'lon', 'lat'),
  'rows', coalesce(json_agg(json_build_array(code, name, kind, status, stream_url, {ll})
    ORDER BY code), '[]'))::text
FROM cameras
WHERE {district}
""").format(ll=lonlat_sql("geom"), district=sql.SQL(IN_DISTRICT.format(a="cameras")))

VEHICLES_SQL = sql.SQL("""
SELECT json_build_object('now', now(),
  'fields', json_build_array('code', 'plate', 'kind', 'company', 'speed_kmh', 'heading',
                             'last_fix_at', 'lon', 'lat'),
  'rows', coalesce(json_agg(json_build_array(code, plate, kind, company,
      round(speed_kmh::numeric, 1), round(heading::numeric), last_fix_at, {ll})
    ORDER BY code), '[]'))::text
FROM vehicles WHERE geom IS NOT NULL AND {district}
""").format(ll=lonlat_sql("geom"), district=sql.SQL(IN_DISTRICT.format(a="vehicles")))

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
