"""The OGC endpoints onemap answers itself, in pygeoapi's (api, request) → response shape.

Landing page: pygeoapi's, but its tiling-scheme links name pygeoapi's
`/TileMatrixSets` (JSON and HTML), which onemap does not serve; they point at
onemap's `/tileMatrixSets` (JSON only, ogc/tiles/) instead.

Conformance: pygeoapi's list is not onemap's (onemap's Part 4 and Processes are
its own routes, writes.py and processes.py) and omits filter/features-filter/cql2-json (which onemap does).
Collections: pygeoapi's, without the collections the asker may not read
(`auth/collection_policy.py`), and each collection object says which of the
conformance classes apply to it (`onemap:conformsTo`, onemap's extension: a
read-only collection lists no Part 4 class) and whether it is editable.
Queryables: pygeoapi titles each property with its bare name; onemap lists
the registry's Chinese/English titles, enums and formats, and the geometry.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Collection, Mapping
from http import HTTPStatus
from typing import Any

import pygeoapi.api as core_api
from pygeoapi.api import API, APIRequest
from pygeoapi.formats import F_HTML, F_JSONLD
from pygeoapi.util import render_j2_template, to_json

from gis_server.ogc.source import Source
from gis_server.ogc.tiles.metadata import REL_SCHEMES
from layers.base import LayerSpec

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/landing-page",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-common-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-common-2/1.0/conf/collections",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/html",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/temporal-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/arithmetic",
    # Part 4 on the editable layers (ogc/writes.py) and the grid processes (ogc/processes.py)
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update",
    "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/features",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/json",
    "http://www.opengis.net/spec/ogcapi-processes-1/1.0/conf/ogc-process-description",
    # OGC API - Tiles, vector tiles of every collection (ogc/tiles/)
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
]

PART4 = [c for c in CONFORMANCE if "/ogcapi-features-4/" in c]
# the classes a collection's own resources answer (not the landing page, processes, TMS)
_PER_COLLECTION = [
    c
    for c in CONFORMANCE
    if ("/ogcapi-features-" in c and c not in PART4) or "/cql2/" in c or "/ogcapi-tiles-" in c
]

Result = tuple[dict[str, Any], int, str]


def collection_conformance(layer: LayerSpec) -> dict[str, Any]:
    """What a collection object adds: the conformance classes that apply to this collection
    (Part 4 only when it is editable) and who may write it."""
    meta: dict[str, Any] = {
        "onemap:conformsTo": _PER_COLLECTION + (PART4 if layer.editable else []),
        "onemap:editable": layer.editable,
    }
    if layer.editable:
        meta["onemap:writeRole"] = layer.write_role
    return meta


def describe_collections(
    api: API,
    request: APIRequest,
    meta: Mapping[str, dict[str, Any]],
    hidden: Collection[str] = (),
    dataset: str | None = None,
) -> Result:
    """pygeoapi's collections (or one), without `hidden`, each with its `meta` members."""
    if hidden:  # a shallow copy: the shared API keeps every resource
        api = copy.copy(api)
        resources = api.config["resources"]
        api.config = {
            **api.config,
            "resources": {k: v for k, v in resources.items() if k not in hidden},
        }
    headers, status, content = core_api.describe_collections(api, request, dataset)
    if status != HTTPStatus.OK or request.format in (F_HTML, F_JSONLD):
        return headers, status, content
    doc = json.loads(content)
    for collection in doc.get("collections", []) if dataset is None else [doc]:
        collection.update(meta.get(collection.get("id"), {}))
    return headers, status, to_json(doc, api.pretty_print)


def landing_page(api: API, request: APIRequest) -> Result:
    """pygeoapi's landing page, its tiling-scheme links replaced by onemap's one."""
    headers, status, content = core_api.landing_page(api, request)
    if status != HTTPStatus.OK or request.format in (F_HTML, F_JSONLD):
        return headers, status, content
    doc = json.loads(content)
    doc["links"] = [link for link in doc["links"] if link.get("rel") != REL_SCHEMES]
    doc["links"].append(
        {
            "rel": REL_SCHEMES,
            "type": "application/json",
            "title": "切片方案 Tiling schemes",
            "href": f"{api.base_url}/tileMatrixSets?f=json",
        }
    )
    return headers, status, to_json(doc, api.pretty_print)


def _page(api: API, request: APIRequest, template: str, data: dict[str, Any]) -> str:
    """One of pygeoapi's HTML templates (the offline copies), rendered in the request's language."""
    templates = api.config["server"]["templates"]
    return render_j2_template(api.tpl_config, templates, template, data, request.locale)


def conformance(api: API, request: APIRequest) -> Result:
    headers = request.get_response_headers(**api.api_headers)
    body = {"conformsTo": CONFORMANCE}
    if request.format == F_HTML:
        return headers, HTTPStatus.OK, _page(api, request, "conformance.html", body)
    return headers, HTTPStatus.OK, to_json(body, api.pretty_print)


def queryables_document(api: API, source: Source) -> dict[str, Any]:
    """JSON Schema of what `filter`, property parameters and sortby may name."""
    props: dict[str, Any] = {
        "geometry": {
            "title": "几何 Geometry",
            "format": "geometry-any",
            "x-ogc-role": "primary-geometry",
        }
    }
    for c in source.columns:
        entry: dict[str, Any] = {"title": c.title or c.name, "type": c.type}
        if c.format:
            entry["format"] = c.format
        if c.enum:
            entry["enum"] = list(c.enum)
        if c.name == source.id_column:
            entry["x-ogc-role"] = "id"
        elif c.name == source.time_start:
            entry["x-ogc-role"] = (
                "primary-instant" if not source.time_end else "primary-interval-start"
            )
        elif c.name == source.time_end:
            entry["x-ogc-role"] = "primary-interval-end"
        props[c.name] = entry
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"{api.get_collections_url()}/{source.id}/queryables",
        "type": "object",
        "title": source.title,
        "properties": props,
        "additionalProperties": False,
    }


def queryables(api: API, request: APIRequest, source: Source) -> Result:
    headers = request.get_response_headers(**api.api_headers)
    doc = queryables_document(api, source)
    if request.format == F_HTML:
        data = dict(doc)
        data["collections_path"] = api.get_collections_url()
        data["dataset_path"] = f"{api.get_collections_url()}/{source.id}"
        data["description"] = api.config["resources"][source.id]["description"]
        data["keywords"] = api.config["resources"][source.id]["keywords"]
        return headers, HTTPStatus.OK, _page(api, request, "collections/queryables.html", data)
    headers["Content-Type"] = "application/schema+json"
    return headers, HTTPStatus.OK, to_json(doc, api.pretty_print)
