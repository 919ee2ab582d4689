"""The front check: validate an items request before pygeoapi sees it, and normalise it.

Stock pygeoapi answers some bad requests with 500 (6-number bbox, datetime on
a collection without time) or with descriptions that do not name the
parameter. Here every parameter is checked and any problem is a 400 naming it.
The returned parameters are what pygeoapi then gets: bbox rewritten to CRS84
(bbox-crs dropped), sortby/properties normalised, filter hidden (the provider
gets the parsed filter from `context.current_filter`).
"""

from __future__ import annotations

from collections.abc import Mapping

from gis_server.errors import InvalidParameter
from gis_server.ogc import cql2, crs, params
from gis_server.ogc.context import ParsedFilter
from gis_server.ogc.cql2_sql import to_sql
from gis_server.ogc.source import Source
from gis_server.ogc.sql import Binds

FORMATS = {"json", "html", "jsonld"}
_ITEMS_RESERVED = {
    "f", "lang", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "resulttype",
    "sortby", "properties", "skipGeometry", "filter", "filter-lang", "filter-crs", "q", "cursor",
}  # fmt: skip
ITEMS_RESERVED = frozenset(_ITEMS_RESERVED)  # parameters that are never property filters


def check_format(query: Mapping[str, str]) -> None:
    f = query.get("f")
    if f is not None and f.lower() not in FORMATS:
        raise InvalidParameter("f", f"unsupported format {f!r}; use json, html or jsonld")


def check_crs(query: Mapping[str, str]) -> dict[str, str]:
    """crs as the URI pygeoapi knows (CURIEs such as EPSG:4326 accepted)."""
    out: dict[str, str] = {}
    if "crs" in query:
        out["crs"] = crs.parse_crs(query["crs"], "crs").uri
    return out


def check_item_datetime(source: Source, query: Mapping[str, str]) -> None:
    """`datetime` on one feature: the version in force then (JSON path); 400 if unusable."""
    if "datetime" in query:
        if not source.temporal:
            raise InvalidParameter("datetime", f"collection {source.id!r} has no time property")
        params.parse_datetime(query["datetime"])


def _single(query: Mapping[str, str], multi: Mapping[str, list[str]]) -> None:
    for name, value in query.items():
        if "\x00" in value:
            raise InvalidParameter(name, "contains a NUL character")
    for name, vals in multi.items():
        if len(vals) > 1 and name in _ITEMS_RESERVED:
            raise InvalidParameter(name, "given more than once")


def check_items(
    source: Source,
    query: Mapping[str, str],
    multi: Mapping[str, list[str]],
    default_limit: int,
    max_limit: int,
) -> tuple[dict[str, str], ParsedFilter | None]:
    """(parameters for pygeoapi, parsed filter) or InvalidParameter."""
    _single(query, multi)
    check_format(query)
    out = dict(query)
    out.update(check_crs(query))
    if "limit" in query:
        out["limit"] = str(params.parse_limit(query["limit"], default_limit, max_limit))
    if "offset" in query:
        out["offset"] = str(params.parse_int(query["offset"], "offset", 0))
    if "resulttype" in query and query["resulttype"] not in ("results", "hits"):
        raise InvalidParameter("resulttype", "must be results or hits")
    _check_bbox(query, out)
    if "datetime" in query:
        if not source.temporal:
            raise InvalidParameter("datetime", f"collection {source.id!r} has no time property")
        params.parse_datetime(query["datetime"])
    if "sortby" in query:
        keys = params.parse_sortby(query["sortby"], source)
        out["sortby"] = ",".join(("+" if asc else "-") + name for name, asc in keys)
        if not keys:
            del out["sortby"]
    if "properties" in query:
        out["properties"] = ",".join(params.parse_select(query["properties"], source))
    if "skipGeometry" in query:
        out["skipGeometry"] = str(params.parse_bool(query["skipGeometry"], "skipGeometry")).lower()
    for name, raw in query.items():
        column = source.column(name)
        if column is not None and name not in _ITEMS_RESERVED:
            params.parse_value(column, raw, name)
    return out, _check_filter(source, query, out)


def _check_bbox(query: Mapping[str, str], out: dict[str, str]) -> None:
    bbox_crs = crs.CRS84
    if "bbox-crs" in query:
        if "bbox" not in query:
            raise InvalidParameter("bbox-crs", "given without bbox")
        bbox_crs = crs.parse_crs(query["bbox-crs"], "bbox-crs")
        del out["bbox-crs"]
    if "bbox" in query:
        box = params.parse_bbox(query["bbox"], bbox_crs)
        out["bbox"] = ",".join(repr(v) for v in box)


def _check_filter(
    source: Source, query: Mapping[str, str], out: dict[str, str]
) -> ParsedFilter | None:
    lang = query.get("filter-lang")
    if lang is not None and lang.lower() not in ("cql2-text", "cql2-json"):
        raise InvalidParameter("filter-lang", f"unsupported {lang!r}; use cql2-text or cql2-json")
    if lang is not None:
        out["filter-lang"] = lang.lower()
    filter_crs = crs.CRS84
    if "filter-crs" in query:
        filter_crs = crs.parse_crs(query["filter-crs"], "filter-crs")
    if "filter" not in query:
        return None
    node = cql2.parse(query["filter"], lang)
    to_sql(node, source, Binds(), filter_crs)  # names every unknown property now, as a 400
    return ParsedFilter(node, filter_crs)
