"""The `/ogc` document (OpenAPI 3.0.3, the conformance class onemap claims): generated
from the layer registry and onemap's OGC routes, self-contained.

Every registry layer gets its collection, items, feature, queryables, schema,
tiles and (with a `write_role`) Part 4 writes with its own property schema;
the process list comes from `ogc/processes.PROCESSES`. `ogc_operations()` is
also what the role matrix test iterates for OGC writes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gis_server.auth.roles import Role
from gis_server.ogc.processes import PROCESSES
from gis_server.openapi.build import SECURITY_SCHEMES, Operation, error_body, paths
from gis_server.openapi.ogc_features import (
    HTML,
    JSONLD,
    LANGUAGE,
    TILE_MATRIX_SETS,
    layer_operations,
)
from gis_server.openapi.ogc_params import LANG, f_param
from gis_server.openapi.schemas import (
    ANY_OBJECT,
    ERROR,
    LINKS,
    feature_collection_schema,
    feature_schema,
    merge_patch_schema,
    write_feature_schema,
)
from gis_server.routing import Body, Param, RouteDoc
from layers.base import LayerSpec
from layers.registry import LAYERS

OGC_VERSION = "3.0.3"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.0"
_LANDING = {"type": "object", "required": ["links"], "properties": {"links": LINKS}}
_CONFORMANCE = {
    "type": "object",
    "required": ["conformsTo"],
    "properties": {"conformsTo": {"type": "array", "items": {"type": "string"}}},
}


def _json(description: str, schema: dict[str, Any] | None = None, *others: str) -> Body:
    """A JSON answer of pygeoapi's or onemap's (in the negotiated language)."""
    return Body(description, schema or ANY_OBJECT, ("application/json", *others), LANGUAGE)


def _kept(description: str) -> Body:
    """onemap's tile metadata: JSON a cache may keep (Cache-Control), in no language."""
    return Body(description, ANY_OBJECT, ("application/json",), ("Cache-Control",))


def _common_ops() -> list[Operation]:
    page = (f_param("json", "html", "jsonld"), LANG)
    tms = Param("tileMatrixSetId", "path", schema={"type": "string", "enum": TILE_MATRIX_SETS})
    coverage_id = Param("collectionId", "path", description="a raster from `onemap import raster`")
    tile = Param("z", "path", schema={"type": "integer", "minimum": 0})
    return [
        Operation("/", "GET", RouteDoc("着陆页 landing page", params=page,
                  responses={200: _json("links to everything", _LANDING, HTML, JSONLD)})),
        Operation("/openapi", "GET", RouteDoc("本文档 this OpenAPI document", params=(f_param("json", "html"),),
                  responses={200: Body("OpenAPI 3.0.3 (JSON) or Swagger UI (offline)", ANY_OBJECT,
                                       (OPENAPI_JSON, HTML))})),
        Operation("/conformance", "GET", RouteDoc("一致性 conformance classes", params=page,
                  responses={200: _json("the classes onemap implements", _CONFORMANCE, HTML, JSONLD)})),
        Operation("/collections", "GET", RouteDoc("集合 collections", params=page,
                  responses={200: _json("every collection", None, HTML, JSONLD)})),
        Operation("/tileMatrixSets", "GET", RouteDoc("切片方案 tile matrix sets", tags=("tiles",),
                  params=(f_param("json"),), responses={200: _kept("the tile matrix sets")})),
        Operation("/tileMatrixSets/{tileMatrixSetId}", "GET", RouteDoc(
            "切片方案 a tile matrix set", tags=("tiles",), params=(tms, f_param("json")),
            responses={200: _kept("its definition (OGC TMS 2.0 JSON)"), 404: error_body(404)})),
        Operation("/collections/{collectionId}/coverage", "GET", RouteDoc(
            "栅格 a raster coverage", params=(coverage_id, f_param("GTiff", "json", "html")),
            responses={200: Body("the coverage", ANY_OBJECT, ("image/tiff", "application/prs.coverage+json",
                                                             HTML)), 404: error_body(404)})),
        Operation("/basemap/{z}/{x}/{y}.png", "GET", RouteDoc(
            "空白底图 blank offline basemap tile", params=(tile, Param("x", "path", schema=tile.schema),
                                                      Param("y", "path", schema=tile.schema)),
            responses={200: Body("a blank PNG", {"type": "string", "format": "binary"}, ("image/png",))})),
        *_process_ops(),
    ]  # fmt: skip


def _process_ops() -> list[Operation]:
    ops = [
        Operation("/processes", "GET", RouteDoc("处理 processes", tags=("processes",),
                  responses={200: _json("grid-reshape, grid-split, grid-merge")})),
    ]  # fmt: skip
    for pid, desc in PROCESSES.items():
        inputs = {
            name: dict(spec["schema"]) for name, spec in desc["inputs"].items() if "schema" in spec
        }
        required = [n for n, spec in desc["inputs"].items() if spec.get("minOccurs", 1) != 0]
        body = {
            "type": "object",
            "required": ["inputs"],
            "properties": {
                "inputs": {"type": "object", "properties": inputs, "required": required}
            },
        }
        tags = ("processes",)
        ops += [
            Operation(f"/processes/{pid}", "GET", RouteDoc(desc["title"], tags=tags,
                      responses={200: _json("process description")})),
            Operation(f"/processes/{pid}/execution", "POST", RouteDoc(
                f"执行 execute {pid} (one transaction, audited)", role=Role.GIS_EDITOR, tags=tags,
                request=Body("the inputs; `dry_run: true` rolls back", body),
                responses={200: _json("closed and opened versions"), 404: error_body(404),
                           409: error_body(409), 412: error_body(412), 422: error_body(422)})),
        ]  # fmt: skip
    return ops


def ogc_operations(layers: Sequence[LayerSpec] = LAYERS) -> list[Operation]:
    """Every operation of the OGC API, relative to `/ogc`, for the collections `layers`
    (default: the registry; an app passes what it publishes, config collections too)."""
    ops = _common_ops()
    for layer in layers:
        ops += layer_operations(layer)
    return ops


def _layer_schemas(layer: LayerSpec) -> dict[str, Any]:
    feature_ref = f"#/components/schemas/{layer.id}.Feature"
    return {
        f"{layer.id}.Feature": feature_schema(layer),
        f"{layer.id}.FeatureCollection": feature_collection_schema(feature_ref),
        f"{layer.id}.WriteFeature": write_feature_schema(layer),
        f"{layer.id}.Patch": merge_patch_schema(layer),
    }


def ogc_document(public_reads: bool = True, layers: Sequence[LayerSpec] = LAYERS) -> dict[str, Any]:
    schemas: dict[str, Any] = {"Error": ERROR}
    for layer in layers:
        schemas |= _layer_schemas(layer)
    return {
        "openapi": OGC_VERSION,
        "info": {
            "title": "onemap 一张图 — OGC API (Features 1–4, Tiles, Processes, Coverages)",
            "version": "1",
            "description": "Generated from the layer registry and onemap's OGC routes. "
            "Errors are one JSON body {code, description, parameter?}.",
        },
        "servers": [{"url": "/ogc"}],
        "paths": paths(ogc_operations(layers), public_reads),
        "components": {"schemas": schemas, "securitySchemes": SECURITY_SCHEMES},
    }
