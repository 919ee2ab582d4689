"""The OGC API Features operations of one registry layer: collection, items, feature,
queryables, schema, tiles — and Part 4 writes when the layer has a `write_role`.

Each is a `RouteDoc`, the same description `/api` routes carry, so the OpenAPI
builder and the role matrix treat both alike. Paths are relative to `/ogc`.
"""

from __future__ import annotations

from gis_server.auth.roles import Role
from gis_server.openapi.build import Operation, error_body
from gis_server.openapi.ogc_params import (
    DATETIME,
    DRY_RUN,
    FEATURE_QUERY,
    FILTER_PARAMS,
    IF_MATCH,
    ITEMS_QUERY,
    LANG,
    f_param,
    item_id_param,
    property_params,
)
from gis_server.openapi.schemas import ANY_OBJECT
from gis_server.routing import Body, Param, RouteDoc
from layers.base import LayerSpec

GEOJSON = "application/geo+json"
HTML = "text/html"
JSONLD = "application/ld+json"
SCHEMA_JSON = "application/schema+json"
MVT = "application/vnd.mapbox-vector-tile"
MERGE_PATCH = "application/merge-patch+json"
TILE_MATRIX_SETS = ["WebMercatorQuad", "CGCS2000Quad"]
# the response headers each kind of answer carries (described in openapi/build.HEADERS)
LANGUAGE = ("Content-Language",)
CACHED = ("ETag", "Last-Modified", "Cache-Control")
GEO = (*CACHED, "Content-Crs", "Content-Language")
KEPT = ("Cache-Control",)  # tile metadata: public, max-age=300
NOT_MODIFIED = Body("not modified (If-None-Match)", None, ())
DRY_RUN_ANSWER = {
    "type": "object",
    "required": ["onemap:dry_run"],
    "properties": {"onemap:dry_run": {"type": "boolean", "enum": [True]}},
}


def ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(
    description: str, schema: dict | None = None, *others: str, headers: tuple[str, ...] = ()
) -> Body:
    return Body(description, schema or ANY_OBJECT, ("application/json", *others), headers)


def _read_ops(layer: LayerSpec) -> list[Operation]:
    c = f"/collections/{layer.id}"
    tags = (layer.id,)
    feature_ref, fc_ref = ref(f"{layer.id}.Feature"), ref(f"{layer.id}.FeatureCollection")
    items = RouteDoc(
        f"{layer.title} — 要素 features",
        tags=tags,
        params=ITEMS_QUERY + property_params(layer),
        responses={
            200: Body(
                "要素集 a GeoJSON FeatureCollection",
                fc_ref,
                (GEOJSON, HTML, JSONLD, "text/csv"),
                GEO,
            ),
            304: NOT_MODIFIED,
            404: error_body(404),
        },
    )
    feature = RouteDoc(
        f"{layer.title} — 一个要素 one feature (ETag)",
        tags=tags,
        params=(item_id_param(layer), *FEATURE_QUERY),
        responses={
            200: Body(
                "the feature (ETag: its write tag when the layer is editable)",
                feature_ref,
                (GEOJSON, HTML, JSONLD),
                GEO,
            ),
            304: NOT_MODIFIED,
            404: error_body(404),
        },
    )
    collection = RouteDoc(
        f"{layer.title} — 集合 collection",
        tags=tags,
        params=(f_param("json", "html", "jsonld"), LANG),
        responses={
            200: _json("the collection", None, HTML, JSONLD, headers=LANGUAGE),
            404: error_body(404),
        },
    )
    queryables = RouteDoc(
        f"{layer.title} — 可查询属性 queryables",
        tags=tags,
        params=(f_param("json", "html"), LANG),
        responses={
            200: Body("JSON Schema of the queryables", ANY_OBJECT, (SCHEMA_JSON, HTML), LANGUAGE)
        },
    )
    schema = RouteDoc(
        f"{layer.title} — 模式 schema",
        tags=tags,
        params=(f_param("json", "html"), LANG),
        responses={
            200: Body("JSON Schema of the features", ANY_OBJECT, (SCHEMA_JSON, HTML), LANGUAGE)
        },
    )
    return [
        Operation(c, "GET", collection),
        Operation(f"{c}/items", "GET", items),
        Operation(f"{c}/items/{{featureId}}", "GET", feature),
        Operation(f"{c}/queryables", "GET", queryables),
        Operation(f"{c}/schema", "GET", schema),
        *_options_ops(layer),
        *_tile_ops(layer),
    ]


def _options_ops(layer: LayerSpec) -> list[Operation]:
    c = f"/collections/{layer.id}"
    answer = {204: Body("`Allow` lists the methods the resource takes", None, (), ("Allow",))}
    return [
        Operation(f"{c}/items", "OPTIONS", RouteDoc("items: allowed methods", tags=(layer.id,), responses=answer)),
        Operation(
            f"{c}/items/{{featureId}}",
            "OPTIONS",
            RouteDoc("feature: allowed methods", tags=(layer.id,), params=(item_id_param(layer),), responses=answer),
        ),
    ]  # fmt: skip


def _tile_ops(layer: LayerSpec) -> list[Operation]:
    c = f"/collections/{layer.id}/tiles"
    tags = ("tiles",)
    tms = Param("tileMatrixSetId", "path", schema={"type": "string", "enum": TILE_MATRIX_SETS})
    index = {"type": "integer", "minimum": 0}
    tile = RouteDoc(
        f"{layer.title} — 矢量切片 vector tile (MVT)",
        tags=tags,
        params=(
            tms,
            Param("tileMatrix", "path", schema={**index, "maximum": 22}),
            Param("tileRow", "path", schema=index),
            Param("tileCol", "path", schema=index),
            f_param("mvt"),
            DATETIME,
            *FILTER_PARAMS,
        ),
        responses={
            200: Body("the tile", {"type": "string", "format": "binary"}, (MVT,), CACHED),
            204: Body("empty tile", None, (), CACHED),
            304: NOT_MODIFIED,
            404: error_body(404, "tile outside the tile matrix set, or below the layer's zoom"),
        },
    )
    return [
        Operation(c, "GET", RouteDoc(f"{layer.title} — 切片集 tilesets", tags=tags, params=(f_param("json"),),
                                     responses={200: _json("tilesets list", headers=KEPT)})),
        Operation(f"{c}/{{tileMatrixSetId}}", "GET", RouteDoc(
            f"{layer.title} — 切片集 tileset", tags=tags, params=(tms, f_param("json")),
            responses={200: _json("tileset metadata (TileJSON-style members)", headers=KEPT), 404: error_body(404)})),
        Operation(f"{c}/{{tileMatrixSetId}}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}", "GET", tile),
    ]  # fmt: skip


def _write_ops(layer: LayerSpec) -> list[Operation]:
    c = f"/collections/{layer.id}/items"
    role = Role.parse(layer.write_role) if layer.write_role else Role.ADMIN
    tags = (layer.id,)
    feature_ref, write_ref = ref(f"{layer.id}.Feature"), ref(f"{layer.id}.WriteFeature")
    body = Body("a GeoJSON Feature of the layer", write_ref, (GEOJSON, "application/json"))
    patch = Body(
        "a JSON merge patch", ref(f"{layer.id}.Patch"), (MERGE_PATCH, GEOJSON, "application/json")
    )
    written = Body("the feature as stored (ETag: its new version)", feature_ref, (GEOJSON,),
                   ("ETag",))  # fmt: skip
    created = Body("the feature as stored (Location: its URL; ETag: its version)", feature_ref,
                   (GEOJSON,), ("Location", "ETag"))  # fmt: skip
    preview = Body("dry_run=true: what would be written (nothing was)", DRY_RUN_ANSWER, (GEOJSON,))
    fails = {s: error_body(s) for s in (404, 409, 415, 422)}
    if_match = () if not layer.if_match_required else (428,)
    item_fails = {**fails, 412: error_body(412), **{s: error_body(s) for s in if_match}}
    pid = item_id_param(layer)
    write = dict(role=role, tags=tags)
    return [
        Operation(c, "POST", RouteDoc(f"{layer.title} — 新增 create", params=(DRY_RUN,), request=body,
                                      responses={200: preview, 201: created, **fails}, **write)),
        Operation(f"{c}/{{featureId}}", "PUT", RouteDoc(f"{layer.title} — 替换 replace",
                  params=(pid, IF_MATCH, DRY_RUN), request=body, responses={200: written, **item_fails}, **write)),
        Operation(f"{c}/{{featureId}}", "PATCH", RouteDoc(f"{layer.title} — 修改 update",
                  params=(pid, IF_MATCH, DRY_RUN), request=patch, responses={200: written, **item_fails}, **write)),
        Operation(f"{c}/{{featureId}}", "DELETE", RouteDoc(f"{layer.title} — 删除 delete",
                  params=(pid, IF_MATCH, DRY_RUN), responses={200: preview, 204: Body("deleted", None, ()), **item_fails}, **write)),
    ]  # fmt: skip


def read_only_writes(layer: LayerSpec) -> list[Operation]:
    """A read-only layer answers writes with 405 and `Allow` (documented as served)."""
    c = f"/collections/{layer.id}/items"
    no = {405: error_body(405, "集合只读 — the collection is read-only (see Allow)")}
    pid = item_id_param(layer)
    # the middleware lets only admins through to a write on a layer without write_role
    ro = dict(tags=(layer.id,), role=Role.ADMIN, responses=no)
    return [
        Operation(c, "POST", RouteDoc(f"{layer.title} — read-only", **ro)),
        *(
            Operation(f"{c}/{{featureId}}", m, RouteDoc(f"{layer.title} — read-only", params=(pid,), **ro))
            for m in ("PUT", "PATCH", "DELETE")
        ),
    ]  # fmt: skip


def layer_operations(layer: LayerSpec) -> list[Operation]:
    writes = _write_ops(layer) if layer.editable else read_only_writes(layer)
    return _read_ops(layer) + writes
