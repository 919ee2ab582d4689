"""The hot GeoJSON paths, answered by onemap itself on pygeoapi's URLs.

pygeoapi's items pipeline parses every feature PostGIS built back into Python
and serialises it again; for 1,000 grids that is most of the request. Here the
page is one SQL statement: PostGIS builds each Feature (same `sql.py` builders
as the provider), aggregates them into one text, and gives the order keys of
the last row (the keyset cursor) and, where cheap, numberMatched. Python only
writes the envelope (links exactly as pygeoapi writes them) around those bytes.

Only `f=json` (or no `f` and an Accept that is not HTML/JSON-LD/CSV) takes
this path, after the same strict validation; `resulttype=hits`, HTML and
everything else still goes through pygeoapi.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pygeoapi
from psycopg2 import sql
from pygeoapi import l10n
from pygeoapi.api import API, APIRequest
from pygeoapi.util import get_dataset_formatters
from starlette.requests import Request
from starlette.responses import Response

from gis_server import editing
from gis_server.errors import InvalidParameter, NotFound
from gis_server.ogc import adb, caching, cql2_sql, keyset, params
from gis_server.ogc import crs as crs_mod
from gis_server.ogc.context import ParsedFilter
from gis_server.ogc.row_estimate import row_estimate
from gis_server.ogc.source import Source
from gis_server.ogc.sql import (
    Binds,
    FeatureQuery,
    _from,
    _select,
    _where,
    count_sql,
    item_sql,
    order_by,
    order_keys,
)
from gis_server.ogc.validate import ITEMS_RESERVED
from gis_server.ogc.writes import tags as write_tags
from gis_server.settings import Settings
from layers.registry import BY_ID

EXACT_COUNT_MAX_ROWS = 10_000  # numberMatched is counted exactly only on tables this small
_STATS_TTL = 60.0
_NOT_JSON = ("html", "ld+json", "csv", "xml")
_POWERED_BY = f"pygeoapi {pygeoapi.__version__}"
_FC_HEAD = b'{"type": "FeatureCollection", "features": ['


def wants_geojson(request: Request) -> bool:
    """True when pygeoapi would answer GeoJSON: f=json, or no f and a JSON-ish Accept."""
    f = request.query_params.get("f")
    if f is not None:
        return f == "json"
    accept = request.headers.get("accept", "").lower()
    return not any(kind in accept for kind in _NOT_JSON)


class _TableStats:
    """NOT NULL and unique columns (cursors, order keys) and row estimates (numberMatched)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._columns: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._rows: dict[str, tuple[float, float]] = {}

    async def read(self, cur: Any, table: str) -> tuple[frozenset[str], frozenset[str], float]:
        """(NOT NULL columns, columns unique on their own, row estimate) of `table`."""
        now = time.monotonic()
        rows = self._rows.get(table)
        if table in self._columns and rows is not None and now - rows[1] < _STATS_TTL:
            return (*self._columns[table], rows[0])
        await cur.execute(
            "SELECT coalesce(array_agg(attname::text) FILTER (WHERE attnotnull), '{}'), "
            "coalesce(array_agg(attname::text) FILTER (WHERE EXISTS (SELECT 1 FROM pg_index i "
            "WHERE i.indrelid = attrelid AND i.indisunique AND i.indnkeyatts = 1 "
            "AND i.indpred IS NULL AND i.indkey[0] = attnum)), '{}') "
            "FROM pg_attribute WHERE attrelid = to_regclass(%(t)s) AND attnum > 0 "
            "AND NOT attisdropped",
            {"t": table},
        )
        not_null, unique = await cur.fetchone()
        rows_estimate = await row_estimate(cur, table)
        with self._lock:
            self._columns[table] = (frozenset(not_null), frozenset(unique))
            self._rows[table] = (rows_estimate, now)
        return (*self._columns[table], self._rows[table][0])


def _shortest_keys(
    keys: keyset.Keys, not_null: frozenset[str], unique: frozenset[str]
) -> keyset.Keys:
    """Order keys up to the first NOT NULL unique one: later keys never break a tie."""
    for i, (name, _) in enumerate(keys):
        if name in not_null and name in unique:
            return keys[: i + 1]
    return keys


class FastFeatures:
    """Items pages and single features as GeoJSON built in PostGIS, with HTTP validators."""

    def __init__(self, settings: Settings):
        self.settings = settings
        db = settings.database
        self.versions = caching.LayerVersions()
        self.db = adb.AsyncDB(db.dsn, db.pool_size)  # opened by the app's lifespan
        self._stats = _TableStats()
        self._item_queries: dict[tuple[str, str], tuple[Source, bytes]] = {}

    # -- items ------------------------------------------------------------
    async def items(
        self,
        request: Request,
        api: API,
        source: Source,
        normalised: dict[str, str],
        parsed: ParsedFilter | None,
    ) -> Response:
        language = await _content_language(request, api)
        return await self._items(request, api, source, normalised, parsed, language)

    async def _items(
        self,
        request: Request,
        api: API,
        source: Source,
        out: dict[str, str],
        parsed: ParsedFilter | None,
        language: str,
    ) -> Response:
        change = await self.versions.get_async(source.table, self.db)
        tag = caching.etag(change, "items", request.url.path, request.url.query, language)
        headers = caching.validators(tag, change, caching.ITEMS_CACHE_CONTROL)
        headers["Vary"] = "Accept, Accept-Language, Accept-Encoding"
        if caching.not_modified(request.headers, tag, change):
            return Response(status_code=304, headers=headers)

        ogc = self.settings.ogc
        binds = Binds()
        q = _feature_query(source, out, parsed, binds, ogc.default_limit)
        keys = order_keys(source, q.sortby)
        cursor = out.get("cursor")
        async with self.db.cursor(f"items of {source.id!r}") as cur:
            not_null, unique, estimate = await self._stats.read(cur, source.table)
            adb.text_as_bytes(cur)
            keys = _shortest_keys(keys, not_null, unique)
            keyed = all(name in not_null for name, _ in keys)
            if cursor is not None:
                if not keyed:
                    raise InvalidParameter("cursor", "this sort order has no cursor")
                q.after = keyset.after(keys, keyset.decode(cursor, keys), binds)
            count = 0 <= estimate <= EXACT_COUNT_MAX_ROWS
            statement = _page_sql(source, q, keys, keys if keyed else None, binds, count, cursor)
            await adb.execute(cur, statement, binds.values)
            agg, returned, last, matched = await cur.fetchone()
        returned = int(returned)
        if 0 < returned < q.limit or (returned == 0 and q.offset == 0 and cursor is None):
            matched = q.offset + returned
        next_cursor = keyset.encode(keys, last.decode()) if keyed and last is not None else None

        links = self._items_links(request, api, source, out, q, returned, matched, next_cursor)
        parts = [_FC_HEAD, agg or b"", b'], "numberReturned": ', str(returned).encode()]
        if matched is not None:
            parts += [b', "numberMatched": ', str(matched).encode()]
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        parts += [b', "links": ', links, b', "timeStamp": "', stamp.encode(), b'"}']
        body = b"".join(parts)
        headers.update(_json_headers(q.crs, language))
        body = caching.maybe_gzip(body, caching.accepts_gzip(request.headers), headers)
        return Response(body, headers=headers)

    def _items_links(
        self,
        request: Request,
        api: API,
        source: Source,
        out: dict[str, str],
        q: FeatureQuery,
        returned: int,
        matched: int | None,
        next_cursor: str | None,
    ) -> bytes:
        """pygeoapi's get_collection_items links, plus `cursor` on the next link."""
        fmt = "json" if "f" in request.query_params else None
        ser = "".join(
            f"&{urllib.parse.quote(k, safe='')}={urllib.parse.quote(str(v), safe=',')}"
            for k, v in out.items()
            if k not in ("f", "offset", "cursor")
        )
        uri = f"{api.get_collections_url()}/{source.id}/items"
        links: list[dict[str, str]] = [
            {
                "type": "application/geo+json",
                "rel": "self",
                "title": "This document as GeoJSON",
                "href": f"{uri}?f=json{ser}",
            },
            {
                "rel": "alternate",
                "type": "application/ld+json",
                "title": "This document as RDF (JSON-LD)",
                "href": f"{uri}?f=jsonld{ser}",
            },
            {
                "type": "text/html",
                "rel": "alternate",
                "title": "This document as HTML",
                "href": f"{uri}?f=html{ser}",
            },
        ]
        for key, value in _formatters(api, source.id).items():
            links.append(
                {
                    "type": value[1],
                    "rel": "alternate",
                    "title": f"This document as {key}",
                    "href": f"{uri}?f={value[0]}{ser}",
                }
            )
        fprefix = f"f={fmt}&" if fmt else ""
        if q.offset > 0:
            prev = max(0, q.offset - q.limit)
            links.append(
                {
                    "type": "application/geo+json",
                    "rel": "prev",
                    "title": "Items (prev)",
                    "href": f"{uri}?{fprefix}offset={prev}{ser}",
                }
            )
        if (matched is not None and matched > q.limit + q.offset) or returned == q.limit:
            href = f"{uri}?{fprefix}offset={q.offset + q.limit}{ser}"
            if next_cursor is not None:
                href += f"&cursor={next_cursor}"
            links.append(
                {
                    "type": "application/geo+json",
                    "rel": "next",
                    "title": "Items (next)",
                    "href": href,
                }
            )
        links.append(
            {
                "type": "application/json",
                "title": api.config["resources"][source.id]["title"],
                "rel": "collection",
                "href": f"{api.get_collections_url()}/{source.id}",
            }
        )
        return json.dumps(links, ensure_ascii=False).encode()

    # -- one feature ------------------------------------------------------
    async def item(
        self, request: Request, api: API, source: Source, crs_uri: str | None
    ) -> Response:
        language = await _content_language(request, api)
        return await self._item(request, api, source, crs_uri, language)

    async def _item(
        self, request: Request, api: API, source: Source, crs_uri: str | None, language: str
    ) -> Response:
        identifier = request.path_params["item_id"]
        key = _item_key(source, identifier)
        change = await self.versions.get_async(source.table, self.db)
        write_tag = _write_tag(source)
        crs = crs_mod.by_uri(crs_uri)
        binds = Binds()
        when = request.query_params.get("datetime")  # checked in service.item
        time = params.parse_datetime(when) if when and source.temporal else None
        extra = write_tag[0] if write_tag else None
        statement = self._item_query(source, key, crs, binds, extra, time)
        if write_tag is None:  # validator known before the query: 304 without touching rows
            tag = caching.etag(change, "item", request.url.path, request.url.query, language)
            headers = caching.validators(tag, change, caching.ITEMS_CACHE_CONTROL)
            headers["Vary"] = "Accept, Accept-Language, Accept-Encoding"
            if caching.not_modified(request.headers, tag, change):
                return Response(status_code=304, headers=headers)
        async with self.db.cursor(f"feature of {source.id!r}", text_as_bytes=True) as cur:
            await adb.execute(cur, statement, binds.values)
            row = await cur.fetchone()
        if row is None:
            raise NotFound(f"feature {identifier!r} not found in {source.id!r}")
        if write_tag is not None:  # the per-feature tag If-Match checks (writes.py)
            tag = write_tag[1](row[1])
            headers = caching.validators(tag, change, caching.ITEMS_CACHE_CONTROL)
            headers["Vary"] = "Accept, Accept-Language, Accept-Encoding"
            if caching.not_modified(request.headers, tag, change):
                return Response(status_code=304, headers=headers)
        feature: bytes = row[0]
        links = json.dumps(_item_links(api, source.id, identifier, request), ensure_ascii=False)
        body = feature[: feature.rindex(b"}")] + b', "links": ' + links.encode() + b"}"
        headers.update(_json_headers(crs, language))
        body = caching.maybe_gzip(body, caching.accepts_gzip(request.headers), headers)
        return Response(body, headers=headers)

    def _item_query(
        self,
        source: Source,
        key: object,
        crs: crs_mod.Crs,
        binds: Binds,
        extra: sql.Composable | None,
        time: params.TimeRange | None,
    ) -> sql.Composable | bytes:
        """item_sql; without `datetime` the statement differs only in the bound id, so its
        compiled text is kept per collection and CRS (building it was ~20 % of a request)."""
        if time is not None:
            return item_sql(source, key, crs, binds, extra, time=time)
        cached = self._item_queries.get((source.id, crs.uri))
        if cached is not None and cached[0] is source:
            binds(key)
            return cached[1]
        statement = item_sql(source, key, crs, binds, extra)
        if list(binds.values) == ["p0"]:  # only the id is bound: reusable
            self._item_queries[(source.id, crs.uri)] = (source, adb.compile_query(statement))
        return statement


def _write_tag(source: Source) -> tuple[sql.Composable, Callable[[Any], str]] | None:
    """(SQL, formatter) of the ETag writes.tags.current_etag gives an editable layer's feature.

    Selected in the feature's own query instead of a second one (versioned layers:
    "v<version>"; others: updated_at in µs).
    """
    layer = BY_ID.get(source.id)
    if layer is None or not layer.editable:
        return None
    return write_tags.tag_sql(layer), lambda v: editing.etag(
        v.decode() if isinstance(v, bytes) else v
    )


def _item_key(source: Source, identifier: str) -> object:
    if "\x00" in identifier:
        raise NotFound(f"feature {identifier!r} not found in {source.id!r}")
    if source.id_type == "integer":
        try:
            return int(identifier)
        except ValueError:
            raise NotFound(
                f"feature {identifier!r} not found in {source.id!r} (ids are integers)"
            ) from None
    return identifier


def _item_links(api: API, cid: str, identifier: str, request: Request) -> list[dict[str, str]]:
    """pygeoapi's get_collection_item links (onemap features have no prev/next)."""
    collections = api.get_collections_url()
    uri = f"{collections}/{cid}/items/{identifier}"
    return [
        {
            "type": "application/json",
            "rel": "root",
            "title": "The landing page of this server as JSON",
            "href": f"{api.base_url}?f=json",
        },
        {
            "type": "text/html",
            "rel": "root",
            "title": "The landing page of this server as HTML",
            "href": f"{api.base_url}?f=html",
        },
        {
            "rel": "self",
            "type": "application/geo+json",
            "title": "This document as JSON",
            "href": f"{uri}?f=json",
        },
        {
            "rel": "alternate",
            "type": "application/ld+json",
            "title": "This document as RDF (JSON-LD)",
            "href": f"{uri}?f=jsonld",
        },
        {
            "rel": "alternate",
            "type": "text/html",
            "title": "This document as HTML",
            "href": f"{uri}?f=html",
        },
        {
            "rel": "collection",
            "type": "application/json",
            "title": api.config["resources"][cid]["title"],
            "href": f"{collections}/{cid}",
        },
    ]


def _json_headers(crs: crs_mod.Crs, language: str) -> dict[str, str]:
    return {
        "Content-Type": "application/geo+json",
        "Content-Crs": f"<{crs.uri}>",
        "Content-Language": language,
        "X-Powered-By": _POWERED_BY,
    }


_FORMATTERS: dict[tuple[int, str], dict[str, tuple[str, str]]] = {}


def _formatters(api: API, cid: str) -> dict[str, tuple[str, str]]:
    """The collection's extra output formats (CSV), as pygeoapi lists them."""
    key = (id(api), cid)
    if key not in _FORMATTERS:
        found = get_dataset_formatters(api.config["resources"][cid])
        _FORMATTERS[key] = {k: (v.name, v.mimetype) for k, v in found.items()}
    return _FORMATTERS[key]


async def _content_language(request: Request, api: API) -> str:
    """pygeoapi's Content-Language; only a `lang` or Accept-Language needs its negotiation."""
    if "lang" not in request.query_params and "accept-language" not in request.headers:
        return l10n.locale2str(api.locales[0])
    api_request = await APIRequest.from_starlette(request, api.locales)
    return l10n.locale2str(api_request.locale)


def _feature_query(
    source: Source,
    out: dict[str, str],
    parsed: ParsedFilter | None,
    binds: Binds,
    default_limit: int,
) -> FeatureQuery:
    """The validated, normalised parameters (see validate.check_items) as a FeatureQuery."""
    bbox = None
    if "bbox" in out:
        b = [float(v) for v in out["bbox"].split(",")]
        bbox = (b[0], b[1], b[2], b[3])
    equals = []
    for name, raw in out.items():
        column = source.column(name)
        if column is not None and name not in ITEMS_RESERVED:
            equals.append((column, params.parse_value(column, raw, name)))
    sortby = [(s[1:], s[0] == "+") for s in out.get("sortby", "").split(",") if s]
    select = [n for n in out.get("properties", "").split(",") if n] or None
    return FeatureQuery(
        limit=int(out.get("limit") or default_limit),
        offset=int(out.get("offset") or 0),
        bbox=bbox,
        time=params.parse_datetime(out["datetime"]) if "datetime" in out else None,
        equals=equals,
        filter=cql2_sql.to_sql(parsed.node, source, binds, parsed.crs) if parsed else None,
        sortby=sortby,
        select=select,
        skip_geometry=out.get("skipGeometry") == "true",
        crs=crs_mod.by_uri(out.get("crs")),
    )


def _page_sql(
    source: Source,
    q: FeatureQuery,
    order: keyset.Keys,
    keys: keyset.Keys | None,
    binds: Binds,
    count: bool,
    cursor: str | None,
) -> sql.Composable:
    """One statement: (features joined by commas, numberReturned, last keys, numberMatched)."""
    last = keyset.values_expr(keys) if keys else sql.SQL("NULL::text")
    offset = 0 if cursor is not None else q.offset
    # The page is chosen on the bare rows (index order, LIMIT/OFFSET); JSON is
    # built only for the rows kept, so a deep offset does not build skipped JSON.
    rows = sql.Composed(
        [
            sql.SQL("SELECT *"),
            _from(source),
            _where(source, q, binds),
            order_by(order),
            sql.SQL(" LIMIT {} OFFSET {}").format(binds(q.limit), binds(offset)),
        ]
    )
    matched: sql.Composable = sql.SQL("NULL::bigint")
    if count and cursor is None:
        counted = dataclasses.replace(q, after=None)
        matched = sql.SQL("({})").format(count_sql(source, counted, binds))
    return sql.SQL(
        "SELECT string_agg(f, ',' ORDER BY onemap_rn), count(*), "
        "(array_agg(k ORDER BY onemap_rn DESC))[1], {matched} "
        "FROM ({select} AS f, {last} AS k, onemap_rn "
        "FROM (SELECT *, row_number() OVER () AS onemap_rn FROM ({rows}) r) t) s"
    ).format(matched=matched, select=_select(source, q), last=last, rows=rows)
