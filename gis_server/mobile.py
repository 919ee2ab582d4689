"""`/m/`: the phone page for grid workers and handlers (its data comes from /api/events)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gis_server.console import STATIC_PREFIX
from gis_server.settings import Settings
from map_ui.mobile import build_mobile_page


def mobile_routes(settings: Settings) -> list[BaseRoute]:
    page_html = build_mobile_page(settings.console.title, STATIC_PREFIX)

    def page(request: Request) -> Response:
        return HTMLResponse(page_html, headers={"Cache-Control": "no-cache"})

    def to_page(request: Request) -> Response:
        return RedirectResponse("/m/", status_code=308)

    return [Route("/m/", page), Route("/m", to_page)]
