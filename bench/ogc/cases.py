"""The ten requests of the issue, their URLs per server, their PostGIS floor SQL and the truth.

Parameters are derived from the database, never hard-coded: the town whose
bounding box holds at least 1,000 cameras (the smallest such), the most common
event category, the busiest Asia/Shanghai day, a current grid with a single
version, and for each tiled layer the z12 and z14 WebMercatorQuad tiles holding
the most features. All feature lists are sorted by code (`sortby=code`) so that
every server must return the same ids in the same order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import psycopg2.extensions

from layers.base import LayerSpec
from layers.registry import LAYERS, get_layer

from .mvt import feature_counts

SERVERS = ("onemap", "tipg", "pygeoapi")

# The issue's measurements (req/s, wrk c8, 2 workers) for the report's reference column.
ISSUE = {
    "grids_1000": (8.1, 8.8, 40),
    "cameras_bbox_1000": (19, 20, 70),
    "grid_by_id": (445, 854, 16000),
    "events_category_500": (47, 44, 203),
    "events_day_500": (66, 45, 374),
    "cameras_page10": (36, 18, 174),
    "tile_grids_z12": (0.5, 117, 175),
    "tile_grids_z14": (6.2, 344, 1645),
    "tile_cameras_z12": (1 / 49, 58, 72),
    "tile_cameras_z14": (0.6, 387, 1530),
}

# URL shapes. onemap's tiles follow pygeoapi's OGC API - Tiles route
# ({z}/{row}/{col} = z/y/x); tipg's own route is {z}/{x}/{y}.
ITEMS = {
    "onemap": "/ogc/collections/{cid}/items?f=json&{q}",
    "tipg": "/collections/public.{table}/items?f=geojson&{q}",
    "pygeoapi": "/collections/{cid}/items?f=json&{q}",
}
ITEM = {
    "onemap": "/ogc/collections/{cid}/items/{fid}?f=json",
    "tipg": "/collections/public.{table}/items/{fid}?f=geojson",
    "pygeoapi": "/collections/{cid}/items/{fid}?f=json",
}
TILE = {
    "onemap": "/ogc/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt",
    "tipg": "/collections/public.{table}/tiles/WebMercatorQuad/{z}/{x}/{y}",
    "pygeoapi": "/collections/{cid}/tiles/WebMercatorQuad/{z}/{y}/{x}?f=mvt",
}
# onemap serves only current grid versions by itself; the stock servers are told so.
CURRENT_FILTER = {
    "tipg": "filter={f}&filter-lang=cql2-text",
    "pygeoapi": "filter={f}&filter-lang=cql2-text",
}
TILE_FILTER = {"tipg": "filter={f}&filter-lang=cql2-text"}  # stock pygeoapi tiles take no filter


@dataclass
class Case:
    """One benchmarked request: URLs per server, the floor SQL and the expected answer."""

    name: str
    title: str
    kind: str  # items | item | tile
    layer: str
    urls: dict[str, str]
    floor_sql: str
    expected_ids: list[str] = field(default_factory=list)
    expected_features: int = 0
    params: str = ""

    @property
    def issue(self) -> tuple[float, float, float]:
        return ISSUE[self.name]


def layer_info() -> list[dict[str, Any]]:
    """Registry layers as plain dicts for the stock servers' configuration."""
    return [
        {
            "id": layer.id,
            "table": layer.table,
            "id_column": layer.id_column,
            "properties": [p.name for p in layer.properties],
            "time_column": layer.time_start,
        }
        for layer in LAYERS
    ]


def _scalar(conn: psycopg2.extensions.connection, sql: str, args: tuple = ()) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        row = cur.fetchone()
    return row if row is None or len(row) > 1 else row[0]


def _bind(conn: psycopg2.extensions.connection, sql: str, args: tuple) -> str:
    """SQL text with the values bound by psycopg2 (for pgbench script files)."""
    with conn.cursor() as cur:
        return cur.mogrify(sql, args).decode()


def _props_json(layer: LayerSpec, alias: str = "t") -> str:
    pairs = ", ".join(f"'{p.name}', {alias}.{p.name}" for p in layer.properties)
    return f"json_build_object({pairs})"


def _feature_json(layer: LayerSpec, alias: str = "t") -> str:
    return (
        f"json_build_object('type', 'Feature', 'id', {alias}.{layer.id_column}, "
        f"'geometry', ST_AsGeoJSON({alias}.geom)::json, 'properties', {_props_json(layer, alias)})"
    )


def _where(layer: LayerSpec, extra: str = "") -> str:
    conds = [c for c in (layer.current_filter, extra) if c]
    return " WHERE " + " AND ".join(conds) if conds else ""


def items_floor_sql(layer: LayerSpec, where: str, limit: int, offset: int = 0) -> str:
    """FeatureCollection built in PostGIS: one page sorted by code (no numberMatched)."""
    return (
        "SELECT json_build_object('type', 'FeatureCollection', 'features', "
        f"coalesce(json_agg({_feature_json(layer)} ORDER BY t.{layer.id_column}), '[]'::json))::text "
        f"FROM (SELECT * FROM {layer.table}{_where(layer, where)} "
        f"ORDER BY {layer.id_column} LIMIT {limit} OFFSET {offset}) t"
    )


def tile_floor_sql(layer: LayerSpec, z: int, x: int, y: int) -> str:
    """ST_AsMVT of one tile: 4096 extent, 256 buffer, clipped, all public properties."""
    cols = ", ".join(p.name for p in layer.properties)
    env = f"ST_TileEnvelope({z}, {x}, {y})"
    where = _where(layer, f"geom && ST_Transform({env}, 4326)")
    return (
        f"WITH t AS (SELECT {cols}, "
        f"ST_AsMVTGeom(ST_Transform(geom, 3857), {env}, 4096, 256, true) AS geom "
        f"FROM {layer.table}{where}) "
        f"SELECT ST_AsMVT(t, '{layer.id}', 4096, 'geom') FROM t"
    )


def densest_tile(
    conn: psycopg2.extensions.connection, layer: LayerSpec, z: int
) -> tuple[int, int, int]:
    """(x, y, features) of the z tile holding the most features (by point on surface)."""
    span = 40075016.68557849 / 2**z
    point = "geom" if layer.geometry_type == "Point" else "ST_PointOnSurface(geom)"
    sql = (
        f"SELECT floor((ST_X(p) + 20037508.342789244) / %s)::int AS x, "
        f"floor((20037508.342789244 - ST_Y(p)) / %s)::int AS y, count(*) "
        f"FROM (SELECT ST_Transform({point}, 3857) AS p FROM {layer.table}{_where(layer)}) s "
        "GROUP BY 1, 2 ORDER BY 3 DESC, 1, 2 LIMIT 1"
    )
    return _scalar(conn, sql, (span, span))


def _ids(conn: psycopg2.extensions.connection, sql: str, args: tuple = ()) -> list[str]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return [str(r[0]) for r in cur.fetchall()]


def _urls(template: dict[str, str], layer: LayerSpec, **kw: Any) -> dict[str, str]:
    return {
        server: template[server].format(cid=layer.id, table=layer.table, **kw) for server in SERVERS
    }


def _items_case(
    conn: psycopg2.extensions.connection,
    name: str,
    title: str,
    layer: LayerSpec,
    query: str,
    where_sql: str,
    where_args: tuple,
    limit: int,
    offset: int = 0,
) -> Case:
    q = f"limit={limit}&sortby={layer.id_column}" + (f"&offset={offset}" if offset else "")
    q += f"&{query}" if query else ""
    urls = _urls(ITEMS, layer, q=q)
    if layer.current_filter:
        for server, extra in CURRENT_FILTER.items():
            urls[server] += "&" + extra.format(f=quote(layer.current_filter))
    where = _bind(conn, where_sql, where_args) if where_sql else ""
    ids = _ids(
        conn,
        f"SELECT {layer.id_column} FROM {layer.table}{_where(layer, where)} "
        f"ORDER BY {layer.id_column} LIMIT {limit} OFFSET {offset}",
    )
    return Case(
        name=name,
        title=title,
        kind="items",
        layer=layer.id,
        urls=urls,
        floor_sql=items_floor_sql(layer, where, limit, offset),
        expected_ids=ids,
        params=query or "-",
    )


def tile_urls(layer: LayerSpec, z: int, x: int, y: int) -> dict[str, str]:
    """One WebMercatorQuad tile's path on each server (current grid versions only)."""
    urls = _urls(TILE, layer, z=z, x=x, y=y)
    if layer.current_filter:
        for server, extra in TILE_FILTER.items():
            sep = "&" if "?" in urls[server] else "?"
            urls[server] += sep + extra.format(f=quote(layer.current_filter))
    return urls


def _tile_case(conn: psycopg2.extensions.connection, layer: LayerSpec, z: int) -> Case:
    x, y, _n = densest_tile(conn, layer, z)
    urls = tile_urls(layer, z, x, y)
    sql = tile_floor_sql(layer, z, x, y)
    tile = bytes(_scalar(conn, sql) or b"")
    return Case(
        name=f"tile_{layer.id}_z{z}",
        title=f"MVT tile of {layer.id}, z{z}",
        kind="tile",
        layer=layer.id,
        urls=urls,
        floor_sql=sql,
        expected_features=sum(feature_counts(tile).values()),
        params=f"{z}/{x}/{y} (z/x/y)",
    )


def town_bbox(
    conn: psycopg2.extensions.connection, minimum: int = 1000
) -> tuple[str, list[float], int]:
    """The smallest-count town bbox that still holds `minimum` cameras (else the fullest)."""
    rows = []
    with conn.cursor() as cur:
        cur.execute(
            "SELECT code, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM towns"
        )
        for code, *box in cur.fetchall():
            box = [math.floor(box[0] * 1e4) / 1e4, math.floor(box[1] * 1e4) / 1e4,
                   math.ceil(box[2] * 1e4) / 1e4, math.ceil(box[3] * 1e4) / 1e4]  # fmt: skip
            n = _scalar(
                conn,
                "SELECT count(*) FROM cameras WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
                tuple(box),
            )
            rows.append((code, box, n))
    full = sorted((r for r in rows if r[2] >= minimum), key=lambda r: (r[2], r[0]))
    return full[0] if full else max(rows, key=lambda r: (r[2], r[0]))


def build_cases(conn: psycopg2.extensions.connection) -> list[Case]:
    """The ten requests, in the issue's order."""
    grids, cameras, events = get_layer("grids"), get_layer("cameras"), get_layer("events")
    cases = [
        _items_case(conn, "grids_1000", "grids, 1,000 features with full geometry",
                    grids, "", "", (), 1000),
    ]  # fmt: skip

    town, box, n = town_bbox(conn)
    bbox = ",".join(f"{v:.4f}" for v in box)
    case = _items_case(
        conn, "cameras_bbox_1000", "cameras in a town-sized bbox, 1,000", cameras,
        f"bbox={bbox}", "geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)", tuple(box), 1000,
    )  # fmt: skip
    case.params = f"bbox of town {town} ({n} cameras): {bbox}"
    cases.append(case)

    fid = _scalar(
        conn,
        "SELECT code FROM grids g WHERE valid_to IS NULL AND NOT EXISTS "
        "(SELECT 1 FROM grids h WHERE h.code = g.code AND h.valid_to IS NOT NULL) "
        "ORDER BY code OFFSET (SELECT count(*) / 2 FROM grids WHERE valid_to IS NULL) LIMIT 1",
    )
    cases.append(
        Case(
            name="grid_by_id",
            title="one grid by id",
            kind="item",
            layer="grids",
            urls=_urls(ITEM, grids, fid=quote(fid)),
            floor_sql=_bind(
                conn,
                f"SELECT {_feature_json(grids)}::text FROM grids t "
                "WHERE t.code = %s AND t.valid_to IS NULL",
                (fid,),
            ),
            expected_ids=[fid],
            params=f"code {fid}",
        )
    )

    category = _scalar(
        conn, "SELECT category FROM events GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1"
    )
    case = _items_case(
        conn, "events_category_500", "events by category, 500", events,
        f"category={quote(category)}", "category = %s", (category,), 500,
    )  # fmt: skip
    case.params = f"category={category}"
    cases.append(case)

    day = _scalar(
        conn,
        "SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date FROM events "
        "GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1",
    )
    start, end = _scalar(
        conn,
        "SELECT to_char((%s::date::timestamp AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'UTC', "
        '\'YYYY-MM-DD"T"HH24:MI:SS"Z"\'), '
        "to_char(((%s::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' - interval '1 second') "
        "AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
        (day, day),
    )
    case = _items_case(
        conn, "events_day_500", "events of one day, 500", events,
        f"datetime={start}/{end}", "created_at BETWEEN %s AND %s", (start, end), 500,
    )  # fmt: skip
    case.params = f"day {day} (Asia/Shanghai): datetime={start}/{end}"
    cases.append(case)

    case = _items_case(
        conn, "cameras_page10", "cameras, 10th page of 1,000", cameras, "", "", (), 1000, 9000
    )
    case.params = "offset=9000"
    cases.append(case)

    for layer in (grids, cameras):
        for z in (12, 14):
            cases.append(_tile_case(conn, layer, z))
    order = list(ISSUE)
    return sorted(cases, key=lambda c: order.index(c.name))
