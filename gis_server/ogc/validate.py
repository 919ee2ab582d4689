"""The front check: validate a features request once, before any path answers it.

Stock pygeoapi answers some bad requests with 500 (6-number bbox) or with
descriptions that do not name the parameter, and ignores parameters it does
not know. Here every parameter is checked and any problem, an unknown
parameter included (OGC API Features /req/core/query-param-unknown), is a 400
naming it.
The result is one `ItemsQuery`/`FeatureByIdQuery` that every path reads. Its
`args` are what pygeoapi then gets: bbox rewritten to CRS84 (bbox-crs
dropped), sortby/properties normalised, filter listed but hidden from pygeoapi
(the provider reads the compiled filter from the query).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from gis_server.errors import InvalidParameter
from gis_server.ogc import cql2, crs, params
from gis_server.ogc.cql2_sql import to_sql
from gis_server.ogc.query import FeatureByIdQuery, ItemsQuery, SqlFilter
from gis_server.ogc.source import Column, Source
from gis_server.ogc.sql import Binds

FORMATS = {"json", "html", "jsonld"}
ITEMS_FORMATS = FORMATS | {"csv"}  # pygeoapi's CSV formatter, linked from every items page
_ITEMS_RESERVED = frozenset({  # parameters that are never property filters
    "f", "lang", "limit", "offset", "bbox", "bbox-crs", "crs", "datetime", "resulttype",
    "sortby", "properties", "skipGeometry", "filter", "filter-lang", "filter-crs", "q", "cursor",
})  # fmt: skip
# What an items request may carry besides the collection's property names. `q`
# (free-text search, not Part 1) is reserved but not offered: onemap has no text search.
_ITEMS_KNOWN = _ITEMS_RESERVED - {"q"}
_FEATURE_KNOWN = frozenset({"f", "crs", "datetime", "lang"})
MAX_SORT_KEYS = 16  # more keys order nothing further; thousands only load the database


def check_format(query: Mapping[str, str], formats: set[str] = FORMATS) -> None:
    f = query.get("f")
    if f is not None and f.lower() not in formats:
        raise InvalidParameter("f", f"unsupported format {f!r}; use {', '.join(sorted(formats))}")


def _output_crs(query: Mapping[str, str], args: dict[str, str]) -> crs.Crs:
    """The `crs` asked for (CURIEs such as EPSG:4326 accepted); args get the URI pygeoapi knows."""
    if "crs" not in query:
        return crs.CRS84
    output = crs.parse_crs(query["crs"], "crs")
    args["crs"] = output.uri
    return output


def _check_known(query: Mapping[str, str], known: frozenset[str], source: Source | None) -> None:
    """400 naming the first parameter that is neither in `known` nor a property of `source`."""
    for name in query:
        if name not in known and (source is None or source.column(name) is None):
            allowed = sorted(known) + (sorted(source.names) if source is not None else [])
            raise InvalidParameter(name, f"unknown parameter; known: {', '.join(allowed)}")


def _time(source: Source, query: Mapping[str, str]) -> params.TimeRange | None:
    """The `datetime` range; None without one, or on a collection without time, where
    every feature matches (OGC API Features /req/core/fc-time-response)."""
    if "datetime" not in query:
        return None
    time = params.parse_datetime(query["datetime"])
    return time if source.temporal else None


def feature_query(source: Source, query: Mapping[str, str]) -> FeatureByIdQuery:
    """One feature: `f`, `crs`, and `datetime` (the version in force then, on the JSON path)."""
    _check_known(query, _FEATURE_KNOWN, None)
    check_format(query)
    args = dict(query)
    output = _output_crs(query, args)
    return FeatureByIdQuery(MappingProxyType(args), output, _time(source, query))


def _single(multi: Mapping[str, list[str]]) -> None:
    """Standard parameters at most once (NUL in any parameter: `limits.py`, before routing)."""
    for name, vals in multi.items():
        if len(vals) > 1 and name in _ITEMS_RESERVED:
            raise InvalidParameter(name, "given more than once")


def items_query(
    source: Source,
    query: Mapping[str, str],
    multi: Mapping[str, list[str]],
    default_limit: int,
    max_limit: int,
) -> ItemsQuery:
    """The request as an ItemsQuery, or InvalidParameter naming the first bad parameter."""
    _single(multi)
    _check_known(query, _ITEMS_KNOWN, source)
    check_format(query, ITEMS_FORMATS)
    args = dict(query)
    output = _output_crs(query, args)
    limit = params.parse_limit(query.get("limit"), default_limit, max_limit)
    if "limit" in query:
        args["limit"] = str(limit)
    offset = params.parse_int(query["offset"], "offset", 0) if "offset" in query else 0
    if "offset" in query:
        args["offset"] = str(offset)
    resulttype = query.get("resulttype")
    if resulttype is not None and resulttype not in ("results", "hits"):
        raise InvalidParameter("resulttype", "must be results or hits")
    bbox = _bbox(query, args)
    time = _time(source, query)
    sortby, select, skip_geometry = _shape(source, query, args)
    equals = _equals(source, query)
    return ItemsQuery(
        args=MappingProxyType(args),
        limit=limit,
        offset=offset,
        bbox=bbox,
        time=time,
        equals=equals,
        filter=_filter(source, query, args),
        sortby=sortby,
        select=select,
        skip_geometry=skip_geometry,
        crs=output,
        cursor=query.get("cursor"),
        hits=resulttype == "hits",
    )


def _bbox(
    query: Mapping[str, str], args: dict[str, str]
) -> tuple[float, float, float, float] | None:
    """bbox in CRS84 (pygeoapi gets it so, without bbox-crs)."""
    bbox_crs = crs.CRS84
    if "bbox-crs" in query:
        if "bbox" not in query:
            raise InvalidParameter("bbox-crs", "given without bbox")
        bbox_crs = crs.parse_crs(query["bbox-crs"], "bbox-crs")
        del args["bbox-crs"]
    if "bbox" not in query:
        return None
    box = params.parse_bbox(query["bbox"], bbox_crs)
    args["bbox"] = ",".join(repr(v) for v in box)
    return box


def _shape(
    source: Source, query: Mapping[str, str], args: dict[str, str]
) -> tuple[tuple[tuple[str, bool], ...], tuple[str, ...] | None, bool]:
    """(sortby, selected properties, skipGeometry): the order and shape of the features."""
    sortby: tuple[tuple[str, bool], ...] = ()
    if "sortby" in query:
        if sum(1 for key in query["sortby"].split(",") if key.strip()) > MAX_SORT_KEYS:
            raise InvalidParameter("sortby", f"at most {MAX_SORT_KEYS} sort keys")
        sortby = tuple(params.parse_sortby(query["sortby"], source))
        args["sortby"] = ",".join(("+" if asc else "-") + name for name, asc in sortby)
        if not sortby:
            del args["sortby"]
    select = None
    if "properties" in query:
        select = tuple(params.parse_select(query["properties"], source)) or None
        args["properties"] = ",".join(select or ())
    skip_geometry = False
    if "skipGeometry" in query:
        skip_geometry = params.parse_bool(query["skipGeometry"], "skipGeometry")
        args["skipGeometry"] = str(skip_geometry).lower()
    return sortby, select, skip_geometry


def _equals(source: Source, query: Mapping[str, str]) -> tuple[tuple[Column, object], ...]:
    """`property=value` parameters, each value typed per its column."""
    equals = []
    for name, raw in query.items():
        column = source.column(name)
        if column is not None and name not in _ITEMS_RESERVED:
            equals.append((column, params.parse_value(column, raw, name)))
    return tuple(equals)


def _filter(source: Source, query: Mapping[str, str], args: dict[str, str]) -> SqlFilter | None:
    """`filter` parsed and compiled once; an unknown property is a 400 here, not later."""
    lang = query.get("filter-lang")
    if lang is not None and lang.lower() not in ("cql2-text", "cql2-json"):
        raise InvalidParameter("filter-lang", f"unsupported {lang!r}; use cql2-text or cql2-json")
    if lang is not None:
        args["filter-lang"] = lang.lower()
    filter_crs = crs.CRS84
    if "filter-crs" in query:
        filter_crs = crs.parse_crs(query["filter-crs"], "filter-crs")
    if "filter" not in query:
        return None
    node = cql2.parse(query["filter"], lang)
    binds = Binds()
    condition = to_sql(node, source, binds, filter_crs)
    return SqlFilter(condition, MappingProxyType(binds.values))
