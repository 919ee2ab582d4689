"""A Part 4 request read and checked — the feature's properties and geometry, or a 422
naming what is wrong — and what a write hands back."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from psycopg import Cursor
from sqlalchemy import BigInteger, SmallInteger
from sqlalchemy.dialects.postgresql import REAL
from starlette.requests import Request

from gis_server import editing, json_body
from gis_server.auth import Principal
from gis_server.errors import InvalidFeature, NotFound
from gis_server.ogc.source import ConfigLayer
from gis_server.settings import Settings
from layers import grid_edits
from layers.base import LayerSpec, Prop
from layers.dispatch import lifecycle
from layers.tables import metadata

# Kept by the system: the area follows the geometry, versions follow the edits.
READ_ONLY = frozenset({"area_km2", *grid_edits.READ_ONLY})
# Per layer besides: an event's state and assignment change only through its actions.
LAYER_READ_ONLY = {"events": lifecycle.LOOP_COLUMNS}


def read_only(layer: LayerSpec) -> frozenset[str]:
    """The properties of `layer` that a Part 4 write may not set (derived ones are computed;
    a config table: its generated and identity-always columns)."""
    if isinstance(layer, ConfigLayer):
        return layer.info.generated if layer.info else frozenset()
    derived = frozenset(p.name for p in layer.properties if p.derived is not None)
    return READ_ONLY | LAYER_READ_ONLY.get(layer.id, frozenset()) | derived


ACTIONS = {"POST": "create", "PUT": "replace", "PATCH": "update", "DELETE": "delete"}
_GEOMETRY_TYPES = {  # what a layer's geometry type takes (a single part becomes a Multi*)
    "Geometry": ("Point", "MultiPoint", "LineString", "MultiLineString", "Polygon", "MultiPolygon"),
    **{f"Multi{t}": (t, f"Multi{t}") for t in ("Point", "LineString", "Polygon")},
}
_PG_LIMITS = {"smallint": 2**15 - 1, "integer": 2**31 - 1, "bigint": 2**63 - 1, "real": 3.4e38}
_FEATURE_MEMBERS = frozenset({"type", "id", "properties", "geometry", "bbox", "links"})
_READ_ONLY_WHY = {
    None: "只读属性,由系统维护 — read-only property",
    "events": "只读属性,只能通过 POST /api/events/{code}/actions 改变 — read-only: "
    "an event's state and assignment change only through its actions",
}
MAX_KEY_BYTES = 2000  # a B-tree index entry holds at most 2704 bytes; more is a database error


@dataclass(frozen=True)
class FeatureWrite:
    """One checked Part 4 request: what to do to which feature, by whom.

    tags: the If-Match ETags (None: no header, `*`, or a POST).
    """

    layer: LayerSpec
    method: str
    code: Any  # the id (str or int); None for a POST whose table makes the id
    props: dict[str, Any]
    geometry: str | None  # GeoJSON text; None keeps the current geometry (PATCH, DELETE)
    tags: list[str] | None
    principal: Principal
    request: Request

    @property
    def action(self) -> str:
        """The audit log's name for the write."""
        return ACTIONS[self.method]


@dataclass(frozen=True)
class Written:
    """What a write did: the feature after it (None: deleted), the edit's report
    (versioned layers: versions closed and opened, rows re-assigned) and its new ETag."""

    feature: dict[str, Any] | None
    outputs: dict[str, Any] | None
    etag: str | None
    code: Any = None  # the id the database gave a POST without one


def _limit(layer: LayerSpec, prop: Prop) -> float:
    """The largest magnitude the property's column holds (PostgreSQL refuses more: a 500)."""
    if isinstance(layer, ConfigLayer):
        data_type = layer.info.data_type(prop.name) if layer.info else "double precision"
        return _PG_LIMITS.get(data_type, 1.7e308)
    kind = metadata.tables[layer.table].columns[prop.name].type
    if prop.type == "integer":
        bits = 64 if isinstance(kind, BigInteger) else 16 if isinstance(kind, SmallInteger) else 32
        return 2 ** (bits - 1) - 1
    return 3.4e38 if isinstance(kind, REAL) else 1.7e308


def _check_number(layer: LayerSpec, prop: Prop, value: float) -> None:
    """In the column's range, so finite too (JSON's 1e999 reads as infinity, and Python's
    json reads NaN, which no comparison holds for)."""
    limit = _limit(layer, prop)
    if not -limit - 1 <= value <= limit:
        bound = f"{limit:g}" if isinstance(limit, float) else str(limit)
        raise InvalidFeature(
            prop.name, f"超出取值范围 — out of range for this property (|value| <= {bound})"
        )


def _check_text(layer: LayerSpec, prop: Prop, value: str) -> None:
    """A string fits its column: not too long for the column's indexes, if it has any."""
    if isinstance(layer, ConfigLayer):
        indexed = layer.info is not None and prop.name in layer.info.indexed
    else:
        table = metadata.tables[layer.table]
        keyed = (*table.indexes, *table.constraints)
        indexed = any(prop.name in {c.name for c in k.columns} for k in keyed)
    if indexed and len(value.encode()) > MAX_KEY_BYTES:
        raise InvalidFeature(prop.name, f"过长 — longer than {MAX_KEY_BYTES} bytes")


def _check_value(layer: LayerSpec, prop: Prop, value: Any) -> Any:
    if value is None:
        return None
    kind = {"string": str, "integer": int, "number": (int, float), "boolean": bool}[prop.type]
    if (isinstance(value, bool) and prop.type != "boolean") or not isinstance(value, kind):
        raise InvalidFeature(prop.name, f"类型应为 {prop.type} — expected {prop.type}")
    if prop.type in ("integer", "number"):
        _check_number(layer, prop, value)
    else:
        _check_text(layer, prop, value)
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
        if name in read_only(layer):
            raise InvalidFeature(name, _READ_ONLY_WHY.get(layer.id, _READ_ONLY_WHY[None]))
        out[name] = _check_value(layer, prop, value)
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


def validate_geometry_sql(cur: Cursor, geojson: str) -> None:
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
    unknown = set(body) - _FEATURE_MEMBERS
    if unknown:
        raise InvalidFeature(sorted(unknown)[0], "未知成员 — unknown member of the feature")
    props = check_properties(layer, body.get("properties"))
    key = layer.id_column
    code = props.get(key, body.get("id"))
    generated = isinstance(layer, ConfigLayer) and layer.info is not None and layer.info.id_default
    if code is None and path_code is None and generated:
        pass  # the table gives the id (serial, identity)
    elif code is not None and layer.id_type == "integer":
        if isinstance(code, bool) or not isinstance(code, int):
            raise InvalidFeature(key, "类型应为 integer — the id must be an integer")
    elif path_code is None and not isinstance(code, str) or (code is not None and code == ""):
        raise InvalidFeature(key, f"缺少编码 — missing code (properties.{key} or id)")
    if path_code is not None and code is not None and code != path_code:
        raise InvalidFeature(key, f"与路径中的编码 {path_code} 不一致 — differs from the URL")
    if key in read_only(layer) and code is not None and path_code is None:
        raise InvalidFeature(key, _READ_ONLY_WHY[None])
    props.pop(key, None)
    if path_code is not None or code is not None:
        props[key] = path_code if path_code is not None else code
    geometry = None
    if "geometry" in body or not patch:
        geometry = check_geometry(layer, body.get("geometry"))
    return props, geometry


async def read_write(
    request: Request, layer: LayerSpec, principal: Principal, settings: Settings
) -> FeatureWrite:
    """The request as a FeatureWrite: body (POST/PUT/PATCH) and If-Match checked."""
    method = request.method
    path_code = path_id(layer, request.path_params.get("item_id"))
    props: dict[str, Any] = {layer.id_column: path_code}
    geometry = None
    if method in ("POST", "PUT", "PATCH"):
        body = await json_body.read_json(request)  # Content-Type checked by the route (415)
        props, geometry = parse_feature(layer, body, patch=method == "PATCH", path_code=path_code)
    tags = None if method == "POST" else editing.if_match(request, layer.id, settings)
    code = props.get(layer.id_column)
    return FeatureWrite(layer, method, code, props, geometry, tags, principal, request)


def path_id(layer: LayerSpec, item_id: str | None) -> Any:
    """The feature id of the URL, typed like the id column (404 for a non-integer)."""
    if item_id is None or layer.id_type != "integer":
        return item_id
    try:
        return int(item_id)
    except ValueError:
        raise NotFound(
            f"没有该要素 — no feature {item_id!r} in {layer.id} (ids are integers)"
        ) from None
