"""OGC API Features Part 4 on the editable layers: POST, PUT, PATCH (merge-patch), DELETE.

Bodies are checked against the layer registry (only LayerSpec.properties, typed,
enums; the layer's geometry type; valid geometry) and answered 422 naming the
property. Grids go through `layers.grid_edits.apply` (new version, topology rules,
re-assignment); other layers are updated in place. Every write is authorised with
`require_write`, runs in one transaction with its audit row, and honours If-Match
(ETag "v<version>" for grids, "u<updated_at µs>" for other layers).

`?dry_run=true` runs the same checks and the same statements, then rolls back:
the answer is the would-be feature (200, `"onemap:dry_run": true`, no ETag) or
the very 409/412/422 the write would get, and nothing is written.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from psycopg2 import sql
from psycopg2.extensions import connection, cursor
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gis_server import editing
from gis_server.auth import Principal, audit, client_ip, require_write
from gis_server.database import ident, pooled
from gis_server.errors import InvalidFeature, NotFound, PreconditionFailed
from gis_server.settings import Settings
from layers import grid_edits
from layers.base import LayerSpec, Prop
from layers.registry import BY_ID

READ_ONLY = frozenset({"area_km2", *grid_edits.READ_ONLY})
_GEOMETRY_TYPES = {"MultiPolygon": ("Polygon", "MultiPolygon"), "Point": ("Point",)}
GEOJSON_TYPES = ("application/geo+json", "application/json", "application/merge-patch+json")


def editable_layer(collection_id: str) -> LayerSpec:
    layer = BY_ID.get(collection_id)
    if layer is None:
        raise NotFound(f"collection {collection_id!r} not found")
    if not layer.editable:
        raise NotFound(f"集合不可编辑 — collection {collection_id!r} is not editable")
    return layer


# -- body checks ------------------------------------------------------------------


def _check_value(prop: Prop, value: Any) -> Any:
    if value is None:
        return None
    kind = {"string": str, "integer": int, "number": (int, float)}[prop.type]
    if isinstance(value, bool) or not isinstance(value, kind):
        raise InvalidFeature(prop.name, f"类型应为 {prop.type} — expected {prop.type}")
    if prop.enum and value not in prop.enum:
        raise InvalidFeature(
            prop.name, f"取值应为 {'|'.join(prop.enum)} — expected one of {', '.join(prop.enum)}"
        )
    try:
        if prop.format == "date-time":
            parsed = dt.datetime.fromisoformat(value)
            if parsed.tzinfo is None:
                raise ValueError("no time zone")
        elif prop.format == "date":
            dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidFeature(
            prop.name, f"应为带时区的 ISO 8601 {prop.format} — expected ISO 8601 {prop.format}"
        ) from None
    return value


def check_properties(layer: LayerSpec, props: Any) -> dict[str, Any]:
    """Known, writable, well-typed properties (the code included)."""
    if props is None:
        return {}
    if not isinstance(props, dict):
        raise InvalidFeature("properties", "应为对象 — must be a JSON object")
    out = {}
    for name, value in props.items():
        prop = layer.prop(name)
        if prop is None:
            raise InvalidFeature(name, "未知属性 — unknown property")
        if name in READ_ONLY:
            raise InvalidFeature(name, "只读属性,由系统维护 — read-only property")
        out[name] = _check_value(prop, value)
    return out


def check_geometry(layer: LayerSpec, geometry: Any) -> str:
    """The geometry as GeoJSON text if its type fits the layer (validity is checked in SQL)."""
    allowed = _GEOMETRY_TYPES.get(layer.geometry_type, (layer.geometry_type,))
    if not isinstance(geometry, dict) or geometry.get("type") not in allowed:
        got = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise InvalidFeature(
            "geometry",
            f"几何类型应为 {'/'.join(allowed)} — geometry type must be {' or '.join(allowed)}, "
            f"got {got}",
        )
    if not isinstance(geometry.get("coordinates"), list):
        raise InvalidFeature("geometry", "缺少坐标 — coordinates missing")
    return json.dumps(geometry)


def validate_geometry_sql(cur: cursor, geojson: str) -> None:
    """422 with PostGIS's reason when the geometry is not valid (self-intersection …)."""
    cur.execute(
        "SELECT ST_IsValid(g), ST_IsValidReason(g), ST_IsEmpty(g) "
        "FROM (SELECT ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326) AS g) x",
        (geojson,),
    )
    ok, reason, empty = cur.fetchone()
    if empty:
        raise InvalidFeature("geometry", "几何为空 — empty geometry")
    if not ok:
        raise InvalidFeature("geometry", f"几何无效 — invalid geometry: {reason}")


def parse_feature(
    layer: LayerSpec, body: Any, *, patch: bool, path_code: str | None
) -> tuple[dict[str, Any], str | None]:
    """(properties, geometry GeoJSON text or None) of a Feature (POST/PUT) or merge-patch."""
    if not isinstance(body, dict):
        raise InvalidFeature("body", "应为 GeoJSON Feature 对象 — body must be a GeoJSON Feature")
    if not patch and body.get("type") != "Feature":
        raise InvalidFeature("type", '应为 "Feature" — type must be "Feature"')
    unknown = set(body) - {"type", "id", "properties", "geometry", "bbox", "links"}
    if unknown:
        raise InvalidFeature(sorted(unknown)[0], "未知成员 — unknown member of the feature")
    props = check_properties(layer, body.get("properties"))
    code = props.get("code", body.get("id"))
    if path_code is None and not isinstance(code, str) or (code is not None and code == ""):
        raise InvalidFeature("code", "缺少编码 — missing code (properties.code or id)")
    if path_code is not None and code is not None and code != path_code:
        raise InvalidFeature("code", f"与路径中的编码 {path_code} 不一致 — differs from the URL")
    props["code"] = path_code or code
    geometry = None
    if "geometry" in body or not patch:
        geometry = check_geometry(layer, body.get("geometry"))
    return props, geometry


# -- features and tags --------------------------------------------------------------


def _feature_sql(layer: LayerSpec) -> sql.Composable:
    props = sql.SQL(", ").join(
        sql.SQL("{}, {}").format(sql.Literal(p.name), ident(p.name)) for p in layer.properties
    )
    return sql.SQL(
        "json_build_object('type', 'Feature', 'id', {id}, 'geometry', "
        "ST_AsGeoJSON({geom}, 9, 0)::json, 'properties', json_build_object({props}))"
    ).format(id=ident(layer.id_column), geom=ident(layer.geometry_column), props=props)


def _tag_sql() -> sql.Composable:
    return sql.SQL("'u' || (extract(epoch FROM updated_at) * 1000000)::bigint")


def _row(cur: cursor, layer: LayerSpec, code: str, lock: bool) -> tuple[Any, str] | None:
    cur.execute(
        sql.SQL("SELECT {feat}, {tag} FROM {table} WHERE {id} = %s{lock}").format(
            feat=_feature_sql(layer),
            tag=_tag_sql(),
            table=ident(layer.table),
            id=ident(layer.id_column),
            lock=sql.SQL(" FOR UPDATE" if lock else ""),
        ),
        (code,),
    )
    return cur.fetchone()


def current_etag(conn: connection, layer_id: str, code: str) -> str | None:
    """ETag of the current feature (grids: open version) or None."""
    with conn.cursor() as cur:
        if layer_id == "grids":
            row = grid_edits.current(cur, code)
            return editing.grid_etag(row["version"]) if row else None
        layer = BY_ID[layer_id]
        found = _row(cur, layer, code, lock=False)
        return editing.etag(found[1]) if found else None


# -- grids -------------------------------------------------------------------------


def _grid_write(
    conn: connection,
    settings: Settings,
    principal: Principal,
    request: Request,
    method: str,
    code: str,
    props: dict[str, Any],
    geometry: str | None,
    tags: list[str] | None,
) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    with conn.cursor() as cur:
        if geometry is not None:
            validate_geometry_sql(cur, geometry)
        values = {k: v for k, v in props.items() if k != "code"}
        if method == "PUT":
            values = {k: values.get(k) for k in grid_edits.WRITABLE}
        change = grid_edits.Change(
            code,
            None if method == "DELETE" else values,
            geometry,
            create=method == "POST",
        )
        expected = None if tags is None else {code: editing.expected_version(tags)}
        if method != "POST" and grid_edits.current(cur, code) is None:
            raise NotFound(f"没有该网格 — no grid {code!r}")
        result = grid_edits.apply(
            cur, [change], expected=expected, tolerance=editing.tolerance(settings)
        )
    action = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}[method]
    editing.audit_grid_edit(conn, principal, action, result, request)
    return result.after.get(code), result.outputs()


# -- other editable layers ----------------------------------------------------------


def _values_sql(layer: LayerSpec, values: Mapping[str, Any], geometry: str | None) -> list:
    """(column, SQL expression, bound value) triples for an INSERT or UPDATE."""
    out: list[tuple[str, sql.Composable, Any]] = [(k, sql.SQL("%s"), v) for k, v in values.items()]
    if geometry is not None:
        geom = "ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)"
        if layer.geometry_type.startswith("Multi"):
            geom = f"ST_Multi({geom})"
        out.append((layer.geometry_column, sql.SQL(geom), geometry))
        if layer.prop("area_km2"):
            out.append(
                (
                    "area_km2",
                    sql.SQL(
                        "round((ST_Area(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)::geography)"
                        " / 1e6)::numeric, 6)::double precision"
                    ),
                    geometry,
                )
            )
        if layer.prop("grid_code") and "grid_code" not in values:
            out.append(
                (
                    "grid_code",
                    sql.SQL(
                        "(SELECT g.code FROM grids g WHERE g.valid_to IS NULL "
                        "AND g.grid_type = 'comprehensive' "
                        "AND ST_Covers(g.geom, ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)) "
                        "ORDER BY g.code LIMIT 1)"
                    ),
                    geometry,
                )
            )
    return out


def _plain_write(
    conn: connection,
    layer: LayerSpec,
    method: str,
    code: str,
    props: dict[str, Any],
    geometry: str | None,
    tags: list[str] | None,
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    table, idcol = ident(layer.table), ident(layer.id_column)
    with conn.cursor() as cur:
        if geometry is not None:
            validate_geometry_sql(cur, geometry)
        before = None
        if method != "POST":
            found = _row(cur, layer, code, lock=True)
            if found is None:
                raise NotFound(f"没有该要素 — no feature {code!r} in {layer.id}")
            before, tag = found
            if tags is not None and tag not in tags:
                raise PreconditionFailed(
                    f"要素已被修改 — feature {code} changed since you read it (ETag {tag})",
                    feature=code,
                    current_etag=editing.etag(tag),
                )
        if method == "DELETE":
            cur.execute(sql.SQL("DELETE FROM {} WHERE {} = %s").format(table, idcol), (code,))
            return before, None
        values = dict(props)
        reset: list[str] = []  # PUT: properties the body omits go back to their defaults
        if method == "PUT":
            writable = [p.name for p in layer.properties if p.name not in READ_ONLY]
            reset = [k for k in writable if k not in props]
        triples = _values_sql(layer, values, geometry)
        if method == "POST":
            cur.execute(
                sql.SQL("INSERT INTO {} ({}) VALUES ({})").format(
                    table,
                    sql.SQL(", ").join(ident(c) for c, _, _ in triples),
                    sql.SQL(", ").join(e for _, e, _ in triples),
                ),
                [v for _, _, v in triples],
            )
        else:
            sets = [sql.SQL("{} = {}").format(ident(c), e) for c, e, _ in triples if c != "code"]
            computed = {c for c, _, _ in triples}
            sets += [sql.SQL("{} = DEFAULT").format(ident(c)) for c in reset if c not in computed]
            sets.append(sql.SQL("updated_at = clock_timestamp()"))
            cur.execute(
                sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(
                    table, sql.SQL(", ").join(sets), idcol
                ),
                [v for c, _, v in triples if c != "code"] + [code],
            )
        after = _row(cur, layer, code, lock=False)
    return before, after[0] if after else None


# -- routes ----------------------------------------------------------------------------


def write_routes(settings: Settings) -> list[Route]:
    """Part 4 routes relative to the /ogc mount."""

    async def handle(request: Request) -> Response:
        method = request.method
        layer = editable_layer(request.path_params["collection_id"])
        principal = await require_write(request, layer.id)
        path_code = request.path_params.get("item_id")
        props: dict[str, Any] = {"code": path_code}
        geometry = None
        if method in ("POST", "PUT", "PATCH"):
            ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if ctype not in GEOJSON_TYPES:
                raise InvalidFeature(
                    "Content-Type", "应为 application/geo+json — expected application/geo+json"
                )
            body = editing.body_json(await request.body())
            props, geometry = parse_feature(
                layer, body, patch=method == "PATCH", path_code=path_code
            )
        tags = None if method == "POST" else editing.if_match(request, layer.id, settings)
        dry_run = editing.dry_run_param(request)
        code = props["code"]

        def work(conn: connection) -> tuple[Any, Any]:
            if layer.id == "grids":
                return _grid_write(
                    conn, settings, principal, request, method, code, props, geometry, tags
                )
            before, after = _plain_write(conn, layer, method, code, props, geometry, tags)
            action = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
            audit.record(
                conn,
                principal,
                action[method],
                layer.id,
                code,
                before,
                after,
                client_ip=client_ip(request),
            )
            return after, None

        after, outputs = await editing.run_edit_async(settings, work, dry_run=dry_run)
        if dry_run:  # what would happen; no ETag or Location: nothing exists to point at
            preview = dict(after or {})
            if outputs is not None:
                preview["onemap:edit"] = outputs
            preview["onemap:dry_run"] = True
            return JSONResponse(preview, media_type="application/geo+json")
        if method == "DELETE":
            return Response(status_code=204)
        headers = {}
        if after is not None:
            if layer.id == "grids":
                headers["ETag"] = editing.grid_etag(after["properties"]["version"])
            else:
                tag = await _etag_async(settings, layer.id, code)
                if tag:
                    headers["ETag"] = tag
        body_out = dict(after or {})
        if outputs is not None:
            body_out["onemap:edit"] = outputs
        status = 201 if method == "POST" else 200
        if method == "POST":
            base = str(request.url.replace(query="")).rstrip("/")
            headers["Location"] = f"{base}/{quote(code, safe='')}"
        return JSONResponse(
            body_out, status_code=status, headers=headers, media_type="application/geo+json"
        )

    return [
        Route("/collections/{collection_id}/items", handle, methods=["POST"]),
        Route(
            "/collections/{collection_id}/items/{item_id:path}",
            handle,
            methods=["PUT", "PATCH", "DELETE"],
        ),
    ]


async def _etag_async(settings: Settings, layer_id: str, code: str) -> str | None:
    def run() -> str | None:
        with pooled(settings.database.dsn, settings.database.pool_size) as conn:
            return current_etag(conn, layer_id, code)

    return await run_in_threadpool(run)


async def add_etag(response: Response, settings: Settings, layer_id: str, code: str) -> None:
    """Give a successful GET of an editable layer's feature its ETag (for If-Match)."""
    layer = BY_ID.get(layer_id)
    if response.status_code == 200 and layer is not None and layer.editable:
        tag = await _etag_async(settings, layer_id, code)
        if tag:
            response.headers["ETag"] = tag
