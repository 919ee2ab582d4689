"""JSON Schemas the documents share: the error body, links, GeoJSON, each layer's Feature.

Everything is inline or under the document's own `components` — no `$ref`
to schemas.opengis.net or GitHub, which intranet clients and validators
cannot reach.
"""

from __future__ import annotations

from typing import Any

from gis_server.ogc.writes.feature import read_only
from layers.base import LayerSpec

ERROR: dict[str, Any] = {
    "type": "object",
    "description": "onemap's one error body (gis_server/errors.py); it names the culprit",
    "required": ["code", "description"],
    "properties": {
        "code": {"type": "string", "description": "machine-readable, e.g. InvalidParameterValue"},
        "description": {"type": "string"},
        "parameter": {"type": "string", "description": "the query/path/body parameter at fault"},
        "property": {"type": "string", "description": "the feature property at fault"},
        "header": {"type": "string", "description": "the request header at fault"},
    },
}

LINK: dict[str, Any] = {
    "type": "object",
    "required": ["href"],
    "properties": {
        "href": {"type": "string"},
        "rel": {"type": "string"},
        "type": {"type": "string"},
        "title": {"type": "string"},
        "hreflang": {"type": "string"},
        "templated": {"type": "boolean"},
    },
}

LINKS: dict[str, Any] = {"type": "array", "items": LINK}

GEOMETRY_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)

GEOMETRY: dict[str, Any] = {
    "type": "object",
    "description": "a GeoJSON geometry (RFC 7946), coordinates in the requested CRS",
    "required": ["type"],
    "properties": {
        "type": {"type": "string", "enum": list(GEOMETRY_TYPES)},
        "coordinates": {"type": "array"},
        "geometries": {"type": "array", "items": {"type": "object"}},
    },
}

ANY_OBJECT: dict[str, Any] = {"type": "object"}


def property_schema(layer: LayerSpec, nullable: bool = True) -> dict[str, Any]:
    """The layer's public properties as a JSON Schema object (types from its table); those a
    Part 4 write may not set are `readOnly` (422 if sent)."""
    props: dict[str, Any] = {}
    kept = read_only(layer)
    for p in layer.properties:
        entry: dict[str, Any] = {"type": p.type, "title": p.title}
        if p.name in kept:
            entry["readOnly"] = True
        if p.format:
            entry["format"] = p.format
        if p.enum:
            entry["enum"] = list(p.enum)
        if p.description:
            entry["description"] = p.description
        if nullable and p.derived is None:
            entry["nullable"] = True
        props[p.name] = entry
    return {"type": "object", "properties": props}


def feature_schema(layer: LayerSpec) -> dict[str, Any]:
    """A served Feature of the layer; the id is its natural key (`id_column`)."""
    return {
        "type": "object",
        "required": ["type", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"type": layer.id_type},
            "geometry": {**GEOMETRY, "nullable": True},
            "properties": property_schema(layer),
            "links": LINKS,
        },
    }


def write_feature_schema(layer: LayerSpec) -> dict[str, Any]:
    """A Feature a client sends to POST or PUT (Part 4); the server checks the rest."""
    return {
        "type": "object",
        "required": ["type", "geometry", "properties"],
        "properties": {
            "type": {"type": "string", "enum": ["Feature"]},
            "geometry": GEOMETRY,
            "properties": property_schema(layer, nullable=False),
        },
    }


def merge_patch_schema(layer: LayerSpec) -> dict[str, Any]:
    """A JSON merge patch (RFC 7396) of a feature: the members to change."""
    return {
        "type": "object",
        "properties": {"geometry": GEOMETRY, "properties": property_schema(layer)},
    }


def feature_collection_schema(feature_ref: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "features"],
        "properties": {
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": {"type": "array", "items": {"$ref": feature_ref}},
            "links": LINKS,
            "numberMatched": {"type": "integer", "minimum": 0},
            "numberReturned": {"type": "integer", "minimum": 0},
            "timeStamp": {"type": "string"},
        },
    }
