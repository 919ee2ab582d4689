"""Routes of the big-screen console (placeholder until map_ui lands)."""

from __future__ import annotations

from starlette.responses import HTMLResponse
from starlette.routing import BaseRoute, Route

from gis_server.settings import Settings


def console_routes(settings: Settings) -> list[BaseRoute]:
    """Routes for `/` and `/console`; the app mounts whatever this returns."""

    async def page(request):  # noqa: ANN001 - Starlette request
        return HTMLResponse(
            f"<!doctype html><meta charset=utf-8><title>onemap</title>"
            f"<h1>{settings.ogc.title}</h1><p><a href='/ogc'>OGC API</a></p>"
        )

    return [Route("/", page), Route("/console", page)]
