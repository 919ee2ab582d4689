"""The OGC API's query, path and header parameters, as `routing.Param`s.

They follow what `ogc/validate.py` accepts (an unknown parameter is a 400),
so a client generated from the document sends only what onemap reads.
"""

from __future__ import annotations

from gis_server.routing import Param
from layers.base import LayerSpec

CRS_URIS = [
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
    "http://www.opengis.net/def/crs/EPSG/0/4326",
    "http://www.opengis.net/def/crs/EPSG/0/4490",
    "http://www.opengis.net/def/crs/EPSG/0/3857",
]


def f_param(*formats: str) -> Param:
    return Param("f", schema={"type": "string", "enum": list(formats)}, description="output format")


LANG = Param(
    "lang",
    schema={"type": "string", "enum": ["zh", "en", "zh-CN", "en-US"]},
    description="language of titles (also Accept-Language)",
)
CRS = Param("crs", schema={"type": "string", "enum": CRS_URIS}, description="output CRS")
DATETIME = Param(
    "datetime",
    schema={"type": "string"},
    description="an RFC 3339 instant or interval (`a/b`, `../b`, `a/..`)",
)
FILTER_PARAMS = (
    Param("filter", description="CQL2 text or JSON (bounded: 32 KiB, 32 levels)"),
    Param("filter-lang", schema={"type": "string", "enum": ["cql2-text", "cql2-json"]}),
)
ITEMS_QUERY = (
    f_param("json", "html", "jsonld", "csv"),
    LANG,
    Param("limit", schema={"type": "integer", "minimum": 1, "maximum": 10000}),
    Param("offset", schema={"type": "integer", "minimum": 0}),
    Param("cursor", description="opaque keyset cursor from a next link"),
    Param(
        "bbox",
        schema={"type": "string", "pattern": r"^-?\d+(\.\d+)?(,-?\d+(\.\d+)?){3}$"},
        description="minx,miny,maxx,maxy (in bbox-crs, default CRS84)",
    ),
    Param("bbox-crs", schema={"type": "string", "enum": CRS_URIS}),
    CRS,
    DATETIME,
    Param("sortby", description="comma-separated queryables, `-` prefix descending"),
    Param("properties", description="comma-separated properties to return"),
    Param("skipGeometry", schema={"type": "boolean"}),
    *FILTER_PARAMS,
    Param("filter-crs", schema={"type": "string", "enum": CRS_URIS}),
    Param("resulttype", schema={"type": "string", "enum": ["results", "hits"]}),
)
FEATURE_QUERY = (f_param("json", "html", "jsonld"), LANG, CRS, DATETIME)
IF_MATCH = Param(
    "If-Match",
    "header",
    description='the ETag read with the feature ("v<version>" or "u<µs>")',
)
DRY_RUN = Param(
    "dry_run",
    schema={"type": "boolean"},
    description="check and answer what would happen, then roll back",
)


def property_params(layer: LayerSpec) -> tuple[Param, ...]:
    """One equality filter per queryable property (Features Part 1 /req/core/fc-filters)."""
    out = []
    for p in layer.properties:
        schema: dict = {"type": p.type}
        if p.enum:
            schema["enum"] = list(p.enum)
        if p.format:
            schema["format"] = p.format
        out.append(Param(p.name, schema=schema, description=f"{p.title} equals"))
    return tuple(out)


def item_id_param(layer: LayerSpec) -> Param:
    return Param(
        "featureId", "path", schema={"type": layer.id_type}, description=f"{layer.id_column}"
    )
