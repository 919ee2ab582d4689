"""Tiles answered straight from the ASGI scope, ahead of Starlette's router.

A map pans and zooms by the hundred tiles a second, and a small tile costs
PostGIS well under a millisecond: the router, the Request/Response objects and
the middleware chain then cost more than the tile. This lane matches only
`GET /ogc/collections/{id}/tiles/{tms}/{z}/{row}/{col}`, runs the same
`TileService.answer` as the routed handler and sends its bytes itself. It sits
inside AuthMiddleware (so the same roles apply) and answers errors with the
same JSON as the app's exception handlers. Everything else (HEAD, other
paths) goes down the normal path untouched.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from urllib.parse import parse_qsl

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from gis_server.auth.district_scope import district_of
from gis_server.errors import OnemapError, onemap_error_response
from gis_server.ogc.tiles.answer import TileService

_TILE = re.compile(r"/ogc/collections/([^/]+)/tiles/([^/]+)/([^/]+)/([^/]+)/([^/]+)")
_HEADERS = frozenset({b"if-none-match", b"if-modified-since", b"accept-encoding"})


def _query(query_string: bytes) -> dict[str, str]:
    """The query's parameters, the last value of each (as Starlette's query_params.get)."""
    if not query_string:
        return {}
    return dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))


class TileFastLane:
    """ASGI middleware: GET tile requests to `TileService.answer`, the rest to `app`."""

    def __init__(self, app: ASGIApp, tiles: TileService) -> None:
        self.app = app
        self.tiles = tiles

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = (
            _TILE.fullmatch(scope["path"])
            if scope["type"] == "http" and scope["method"] == "GET"
            else None
        )
        if match is None:
            await self.app(scope, receive, send)
            return
        wanted = {
            k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"] if k in _HEADERS
        }
        try:
            conn = HTTPConnection(scope)

            async def reader(columns: Collection[str]) -> str | None:
                return await district_of(conn, columns)

            answer = await self.tiles.answer(
                match.groups(), _query(scope["query_string"]), scope["path"], wanted, reader
            )
        except OnemapError as exc:
            await onemap_error_response(exc)(scope, receive, send)
            return
        headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()
        ]
        if answer.status not in (204, 304):
            headers.append((b"content-length", str(len(answer.body)).encode()))
        await send({"type": "http.response.start", "status": answer.status, "headers": headers})
        await send({"type": "http.response.body", "body": answer.body})
