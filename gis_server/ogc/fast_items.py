"""The hot GeoJSON paths, answered by onemap itself on pygeoapi's URLs.

pygeoapi's items pipeline parses every feature PostGIS built back into Python
and serialises it again; for 1,000 grids that is most of the request. Here a
page is one SQL statement (`items_page`) whose Features PostGIS builds and
joins, and Python only writes the envelope around those bytes (`envelope`:
links exactly as pygeoapi writes them), with HTTP validators.

Only `f=json` (or no `f` and an Accept that is not HTML/JSON-LD/CSV) takes
this path, with the query the front check parsed (`validate`);
`resulttype=hits`, HTML and everything else still goes through pygeoapi.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import sql
from pygeoapi import l10n
from pygeoapi.api import API, APIRequest
from starlette.requests import Request
from starlette.responses import Response

from gis_server import editing
from gis_server.auth.district_scope import scope_headers
from gis_server.errors import NotFound
from gis_server.ogc import adb, caching, envelope, items_page, page_count
from gis_server.ogc import crs as crs_mod
from gis_server.ogc.params import TimeRange
from gis_server.ogc.query import FeatureByIdQuery, ItemsQuery
from gis_server.ogc.source import Source
from gis_server.ogc.sql import Binds, item_sql
from gis_server.ogc.writes import tags as write_tags
from gis_server.settings import Settings
from layers.base import LayerSpec

_NOT_JSON = ("html", "ld+json", "csv", "xml")
_VARY = "Accept, Accept-Language, Accept-Encoding"


def wants_geojson(request: Request) -> bool:
    """True when pygeoapi would answer GeoJSON: f=json, or no f and a JSON-ish Accept."""
    f = request.query_params.get("f")
    if f is not None:
        return f == "json"
    accept = request.headers.get("accept", "").lower()
    return not any(kind in accept for kind in _NOT_JSON)


class FastFeatures:
    """Items pages and single features as GeoJSON built in PostGIS, with HTTP validators."""

    def __init__(self, settings: Settings):
        self.settings = settings
        db = settings.database
        self.versions = caching.LayerVersions()
        self.db = adb.AsyncDB(
            db.dsn, db.pool_size, replica_dsns=db.replicas
        )  # opened by the lifespan
        self._stats = items_page.TableStats()
        self._item_queries: dict[tuple[str, str], tuple[Source, bytes]] = {}

    # -- items ------------------------------------------------------------
    async def items(self, request: Request, api: API, source: Source, q: ItemsQuery) -> Response:
        language = await _content_language(request, api)
        change = caching.clocked(
            await self.versions.get_async(source.table, self.db), source.clock_s
        )
        tag = caching.etag(
            change, "items", request.url.path, request.url.query, language, q.district or ""
        )
        headers = caching.validators(tag, change, caching.ITEMS_CACHE_CONTROL)
        headers["Vary"] = _VARY
        scope_headers(headers, q.district, source.names)
        if caching.not_modified(request.headers, tag, change):
            return Response(status_code=304, headers=headers)
        budget = self.settings.ogc.count_budget_ms
        async with self.db.cursor(f"items of {source.id!r}") as cur:
            page = await items_page.fetch_page(
                cur, self._stats, source, q, lambda: page_count.start(self.db, source, q, budget)
            )
        links = envelope.items_links(api, source.id, q, page)
        body = envelope.feature_collection(page, links)
        headers.update(envelope.json_headers(q.crs, language))
        body = caching.maybe_gzip(body, caching.accepts_gzip(request.headers), headers)
        return Response(body, headers=headers)

    # -- one feature ------------------------------------------------------
    async def item(
        self,
        request: Request,
        api: API,
        source: Source,
        q: FeatureByIdQuery,
        layer: LayerSpec | None = None,
    ) -> Response:
        """One feature; `layer`: its LayerSpec when Part 4 may write it (then the ETag is
        the feature's own write tag, which If-Match is checked against)."""
        language = await _content_language(request, api)
        identifier = request.path_params["item_id"]
        key = _item_key(source, identifier)
        change = caching.clocked(
            await self.versions.get_async(source.table, self.db), source.clock_s
        )
        write_tag = _write_tag(layer)
        binds = Binds()
        extra = write_tag[0] if write_tag else None
        statement = self._item_query(source, key, q.crs, binds, extra, q.time, q.district)
        if write_tag is None:  # validator known before the query: 304 without touching rows
            tag = caching.etag(
                change, "item", request.url.path, request.url.query, language, q.district or ""
            )
            headers = caching.validators(tag, change, caching.ITEMS_CACHE_CONTROL)
            headers["Vary"] = _VARY
            scope_headers(headers, q.district, source.names)
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
            headers["Vary"] = _VARY
            scope_headers(headers, q.district, source.names)
            if caching.not_modified(request.headers, tag, change):
                return Response(status_code=304, headers=headers)
        links = envelope.feature_links(api, source.id, identifier)
        body = envelope.feature_with_links(row[0], links)
        headers.update(envelope.json_headers(q.crs, language))
        body = caching.maybe_gzip(body, caching.accepts_gzip(request.headers), headers)
        return Response(body, headers=headers)

    def _item_query(
        self,
        source: Source,
        key: object,
        crs: crs_mod.Crs,
        binds: Binds,
        extra: sql.Composable | None,
        time: TimeRange | None,
        district: str | None = None,
    ) -> sql.Composable | bytes:
        """item_sql; without `datetime` and a reader's district the statement differs only in
        the bound id, so its compiled text is kept per collection and CRS (building it was
        ~20 % of a request)."""
        if time is not None or district is not None:
            return item_sql(source, key, crs, binds, extra, time=time, district=district)
        cached = self._item_queries.get((source.id, crs.uri))
        if cached is not None and cached[0] is source:
            binds(key)
            return cached[1]
        statement = item_sql(source, key, crs, binds, extra)
        if list(binds.values) == ["p0"]:  # only the id is bound: reusable
            self._item_queries[(source.id, crs.uri)] = (source, adb.compile_query(statement))
        return statement


def _write_tag(layer: LayerSpec | None) -> tuple[sql.Composable, Callable[[Any], str]] | None:
    """(SQL, formatter) of the ETag writes.tags.current_etag gives an editable layer's feature.

    Selected in the feature's own query instead of a second one (versioned layers:
    "v<version>"; others: updated_at in µs).
    """
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


async def _content_language(request: Request, api: API) -> str:
    """pygeoapi's Content-Language; only a `lang` or Accept-Language needs its negotiation."""
    if "lang" not in request.query_params and "accept-language" not in request.headers:
        return l10n.locale2str(api.locales[0])
    api_request = await APIRequest.from_starlette(request, api.locales)
    return l10n.locale2str(api_request.locale)
