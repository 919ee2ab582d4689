"""Routes of the big-screen console: the page, its static assets and its JSON API.

The app mounts whatever `console_routes(settings)` returns. The page itself is
built by `map_ui` (Folium) from the layer registry; everything it loads is
served from here, so the console works with the network cut.
"""

from __future__ import annotations

import threading
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gis_server.console_api import ConsoleApi, digest_body, json_response
from gis_server.console_api.route_docs import BASEMAP
from gis_server.errors import NotFound
from gis_server.ogc import caching
from gis_server.ogc.caching import DigestBody
from gis_server.routing import api_route
from gis_server.settings import PROJECT_DIR, Settings
from map_ui import STATIC_DIR, ConsoleOptions, build_console_page

STATIC_PREFIX = "/static/console"
API_PREFIX = "/api/console"

# Offline basemap sources shipped with the project (see data/haimen/README.md).
BASEMAP_FILES: dict[str, Path] = {
    "district": PROJECT_DIR / "data/haimen/haimen_district.geojson",
    "water": PROJECT_DIR / "data/haimen/yangtze_estuary_water_osm.geojson",
}


def console_options(settings: Settings) -> ConsoleOptions:
    """What map_ui needs from the settings (map_ui never imports gis_server)."""
    c = settings.console
    minx, miny, maxx, maxy = settings.district.extent
    return ConsoleOptions(
        title=c.title,
        title_en=c.title_en,
        district_name=settings.district.name,
        extent=(minx, miny, maxx, maxy),
        static_url=STATIC_PREFIX,
        api_url=API_PREFIX,
        basemaps=[b.model_dump() for b in c.basemaps],
        vehicles_refresh_s=c.vehicles_refresh_s,
        stats_refresh_s=c.stats_refresh_s,
        events_refresh_s=c.events_refresh_s,
        layers_refresh_s=c.layers_refresh_s,
        offline_after_s=settings.feed.offline_after_s,
        tile_versions_ttl_ms=round(caching.TTL * 1000),
    )


def console_routes(settings: Settings) -> list[BaseRoute]:
    """Routes for `/`, `/console`, `/static/console/...` and `/api/console/...`."""
    api = ConsoleApi(settings)
    page_lock = threading.Lock()
    page_html: list[str] = []

    def page(request: Request) -> Response:
        # Built once per process: the registry and settings do not change while running.
        with page_lock:
            if not page_html:
                page_html.append(build_console_page(console_options(settings)))
        return HTMLResponse(page_html[0], headers={"Cache-Control": "no-cache"})

    basemap_cache: dict[str, DigestBody] = {}

    def basemap(request: Request) -> Response:
        name = request.path_params["name"]
        path = BASEMAP_FILES.get(name)
        if path is None:
            raise NotFound(f"no basemap {name!r}")
        if name not in basemap_cache:
            basemap_cache[name] = digest_body(path.read_bytes())
        return json_response(request, basemap_cache[name], max_age=3600)

    return [
        Route("/", page),
        Route("/console", page),
        Mount(STATIC_PREFIX, app=StaticFiles(directory=STATIC_DIR), name="console_static"),
        api_route(f"{API_PREFIX}/basemap/{{name}}", basemap, doc=BASEMAP),
        *api.routes(API_PREFIX),
    ]
