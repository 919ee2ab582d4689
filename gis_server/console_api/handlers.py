"""Handlers of /api/console/...: each reads one JSON body from PostGIS and answers it.

Handlers are sync (Starlette runs them in its threadpool, next to the sync psycopg 3
pool). Bad requests raise `gis_server.errors` classes, which the app's one
exception handler answers.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from psycopg import sql
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gis_server.auth.collection_policy import authorise, policy_of
from gis_server.auth.dependencies import authenticate
from gis_server.console_api import districts, figures, layers, lookup
from gis_server.console_api import route_docs as d
from gis_server.console_api.bodies import TtlCache, compact, digest_body, json_response
from gis_server.database import pooled
from gis_server.errors import InvalidConsoleParameter, NotFound
from gis_server.ogc.caching import DigestBody
from gis_server.routing import api_route
from gis_server.settings import Settings

# a vehicle's track reads the vehicle and its tracks: both layers' read policies apply
TRACK_LAYERS = ("vehicles", "vehicle_tracks")


class ConsoleApi:
    """Handlers of /api/console/...; one instance per app, holding settings and a cache."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.cache = TtlCache()

    def routes(self, a: str) -> list[Route]:
        """The API's routes under the prefix `a`."""
        return [
            api_route(f"{a}/districts", self.districts, doc=d.DISTRICTS),
            api_route(f"{a}/layers/towns", self.towns, doc=d.TOWNS),
            api_route(f"{a}/layers/grids", self.grids, doc=d.GRIDS),
            api_route(f"{a}/layers/river_patrol_zones", self.zones, doc=d.ZONES),
            api_route(f"{a}/layers/cameras", self.cameras, doc=d.CAMERAS),
            api_route(f"{a}/layers/vehicles", self.vehicles, doc=d.VEHICLES),
            api_route(f"{a}/events", self.events, doc=d.EVENTS),
            api_route(f"{a}/events/categories", self.categories, doc=d.CATEGORIES),
            api_route(f"{a}/stats/towns", self.town_stats, doc=d.TOWN_STATS),
            api_route(f"{a}/tracks/{{vehicle}}", self.track_days, doc=d.TRACK_DAYS),
            api_route(f"{a}/tracks/{{vehicle}}/{{day}}", self.track, doc=d.TRACK),
            api_route(f"{a}/point", self.point, doc=d.POINT),
            api_route(f"{a}/search", self.search, doc=d.SEARCH),
        ]

    def _fetch(self, query: sql.Composable, params: dict[str, Any] | None = None) -> str | None:
        with pooled(
            self.settings.database.dsn, self.settings.database.pool_size, read=True
        ) as conn:
            with conn.cursor() as cur:
                # Session-local: timestamps on the wire carry +08:00, "today" is a Shanghai day.
                cur.execute("SET LOCAL TIME ZONE 'Asia/Shanghai'")
                cur.execute(query, params or {})
                row = cur.fetchone()
        return row[0] if row else None

    def _fetch_body(self, query: sql.Composable, params: dict[str, Any]) -> DigestBody:
        return digest_body(self._fetch(query, params) or "null")

    def _cached(
        self,
        key: Any,
        ttl: float,
        query: sql.Composable,
        tables: tuple[str, ...] = (),
        district: str | None = None,
    ) -> DigestBody:
        """The query's body (for `district`; None: the city), cached for `ttl` seconds while
        `tables` do not change."""
        stamp = self._versions(tables) if tables else ""
        params = {"district": district}
        return self.cache.get(
            (key, district), ttl, lambda: compact(self._fetch(query, params) or "null"), stamp
        )

    async def _district(self, request: Request) -> str | None:
        """The body's district: the scoped user's own, else `?district=` (checked), else None."""
        principal = await authenticate(request)
        return await run_in_threadpool(self._district_of, principal, request)

    def _district_of(self, principal: Any, request: Request) -> str | None:
        raw = request.query_params.get("district")
        if (principal is None or principal.district_code is None) and not raw:
            return None
        known = self.cache.get(
            "known-districts", 60, lambda: json.dumps(self._fetch(districts.KNOWN_SQL)),
            self._versions(("towns",)),
        )  # fmt: skip
        return districts.resolve(principal, raw, json.loads(bytes(known.data)))

    async def districts(self, request: Request) -> Response:
        """The districts with towns: the picker's list and the city view's boundaries."""
        names = districts.names(self.settings.district.code, self.settings.district.name)

        def named() -> str:
            doc = json.loads(self._fetch(districts.DISTRICTS_SQL) or '{"districts": []}')
            for item in doc["districts"]:
                item["name"] = names.get(item["code"], item["code"])
            return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))

        stamp = await run_in_threadpool(self._versions, ("towns",))
        body = await run_in_threadpool(self.cache.get, "districts", 300, named, stamp)
        return json_response(request, body)

    def _versions(self, tables: tuple[str, ...]) -> str:
        """The change counters of `tables` (layer_changes, bumped by every write), as text."""
        with pooled(
            self.settings.database.dsn, self.settings.database.pool_size, read=True
        ) as conn:
            with conn.cursor() as cur:
                cur.execute(layers.VERSIONS_SQL, (list(tables),))
                return cur.fetchone()[0]

    # The layers the console polls (`console.layers_refresh_s`): cached per table versions,
    # validated by ETag, and never cached by the browser without asking.
    async def towns(self, request: Request) -> Response:
        district = await self._district(request)
        body = await run_in_threadpool(
            self._cached, "towns", 60, layers.TOWNS_SQL, ("towns",), district
        )
        return json_response(request, body)

    async def grids(self, request: Request) -> Response:
        principal = await authorise(request, None)  # (grids' own policy: the middleware)
        district = await self._district(request)
        if "events" in policy_of(request).readable(principal, ("events",)):
            key, query = "grids", layers.GRIDS_SQL
        else:
            key, query = "grids-without-events", layers.GRIDS_WITHOUT_EVENTS_SQL
        tables = ("grids", "towns", "events")
        body = await run_in_threadpool(self._cached, key, 30, query, tables, district)
        return json_response(request, body)

    async def zones(self, request: Request) -> Response:
        district = await self._district(request)
        body = await run_in_threadpool(
            self._cached, "zones", 60, layers.ZONES_SQL, ("river_patrol_zones",), district
        )
        return json_response(request, body)

    async def cameras(self, request: Request) -> Response:
        district = await self._district(request)
        body = await run_in_threadpool(
            self._cached, "cameras", 30, layers.CAMERAS_SQL, ("cameras",), district
        )
        return json_response(request, body)

    async def vehicles(self, request: Request) -> Response:
        district = await self._district(request)
        body = await run_in_threadpool(
            self._cached, "vehicles", 1, layers.VEHICLES_SQL, (), district
        )
        return json_response(request, body)

    async def events(self, request: Request) -> Response:
        district = await self._district(request)
        return await run_in_threadpool(self._events, request, district)

    def _events(self, request: Request, district: str | None) -> Response:
        limit = self.settings.console.events_limit
        query, params = figures.events_query(request, limit, district)
        key = ("events", tuple(sorted((k, str(v)) for k, v in params.items())))
        # stamped with the events' version: a case changed on the live stream is recounted
        # at once (the console redraws its tiles and asks for the count again)
        stamp = self._versions(("events",))
        body = self.cache.get(key, 5, lambda: compact(self._fetch(query, params) or "null"), stamp)
        return json_response(request, body)

    async def categories(self, request: Request) -> Response:
        district = await self._district(request)
        body = await run_in_threadpool(
            self._cached, "categories", 300, figures.CATEGORIES_SQL, (), district
        )
        return json_response(request, body)

    async def town_stats(self, request: Request) -> Response:
        await authorise(request, None, ("events",))  # counts of events per town
        district = await self._district(request)
        body = await run_in_threadpool(
            self._cached, "town_stats", 5, figures.TOWN_STATS_SQL, (), district
        )
        return json_response(request, body)

    async def track_days(self, request: Request) -> Response:
        await authorise(request, None, TRACK_LAYERS)
        vehicle = request.path_params["vehicle"]
        body = await run_in_threadpool(self._fetch_body, layers.TRACK_DAYS_SQL, {"v": vehicle})
        return json_response(request, body)

    async def track(self, request: Request) -> Response:
        await authorise(request, None, TRACK_LAYERS)
        vehicle = request.path_params["vehicle"]
        try:
            day = dt.date.fromisoformat(request.path_params["day"])
        except ValueError:
            raise InvalidConsoleParameter("day", "must be a date YYYY-MM-DD") from None
        body = await run_in_threadpool(self._fetch, layers.TRACK_SQL, {"v": vehicle, "d": day})
        if body is None:
            raise NotFound(f"no track of vehicle {vehicle!r} on {day.isoformat()}")
        return json_response(request, digest_body(body))

    async def point(self, request: Request) -> Response:
        lon = lookup.float_param(request, "lon", -180, 180)
        lat = lookup.float_param(request, "lat", -90, 90)
        params = {"lon": lon, "lat": lat, "k": 5, "pre": 25}
        principal = await authorise(request, None)
        readable = policy_of(request).readable(principal, lookup.POINT_LAYERS)
        text = await run_in_threadpool(self._fetch, lookup.POINT_SQL, params)
        return json_response(request, digest_body(lookup.point_for(text or "null", readable)))

    async def search(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        if not q or len(q) > 100:
            raise InvalidConsoleParameter("q", "must be 1 to 100 characters")
        coord = lookup.parse_coordinate(q)
        if coord:
            hit = {"kind": "coordinate", "layer": None, "code": None, "label": q}
            hit |= {"lon": coord[0], "lat": coord[1]}
            answer = json.dumps({"q": q, "hits": [hit]}, ensure_ascii=False, separators=(",", ":"))
            return json_response(request, digest_body(answer))
        prefix = q.upper().replace("%", "") + "%"
        # hits of layers the asker may not read are left out (their read policy)
        principal = await authorise(request, None)
        readable = policy_of(request).readable(principal, lookup.SEARCH_LAYERS)
        params = {"q": q, "p": lookup.like_pattern(q), "prefix": prefix, "n": 8}
        params["layers"] = sorted(readable)
        body = await run_in_threadpool(self._fetch_body, lookup.SEARCH_SQL, params)
        return json_response(request, body)
