"""What pygeoapi's HTML pages load besides themselves, served by onemap.

- `/ogc/vendor/...`: the front-end packages vendored in `map_ui/static/vendor/`
  (the rewritten templates of `ogc/templates.py` point here).
- `/ogc/basemap/{z}/{x}/{y}.png`: a blank tile, the item maps' basemap when no
  intranet tile service is configured, so the maps draw their features with no
  internet instead of waiting on tile.openstreetmap.org.
"""

from __future__ import annotations

import struct
import zlib
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gis_server.settings import Settings
from map_ui import STATIC_DIR

VENDOR_DIR = STATIC_DIR / "vendor"
BLANK_RGB = (0xF2, 0xEF, 0xE9)
ATTRIBUTION = "onemap"


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A solid-colour RGB PNG (a few hundred bytes; no imaging library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height, 9))
        + chunk(b"IEND", b"")
    )


BLANK_TILE = _png(256, 256, BLANK_RGB)


def map_config(settings: Settings) -> dict[str, Any]:
    """pygeoapi's `server.map`: the first WGS84 intranet basemap, else onemap's blank tiles.

    GCJ-02 basemaps are skipped: pygeoapi's maps cannot shift features onto them.
    pygeoapi passes no `subdomains` to Leaflet, so `{s}` is filled in here.
    """
    for basemap in settings.console.basemaps:
        if basemap.crs_variant != "wgs84":
            continue
        url = basemap.url
        if "{s}" in url:
            if not basemap.subdomains:
                continue
            url = url.replace("{s}", basemap.subdomains[0])
        return {"url": url, "attribution": basemap.attribution or basemap.name}
    return {
        "url": settings.server.public_url + "/ogc/basemap/{z}/{x}/{y}.png",
        "attribution": ATTRIBUTION,
    }


async def blank_tile(request: Request) -> Response:
    return Response(
        BLANK_TILE, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


def offline_routes() -> list[BaseRoute]:
    """Routes relative to the /ogc mount."""
    return [
        Route("/basemap/{z:int}/{x:int}/{y:int}.png", blank_tile, methods=["GET", "HEAD"]),
        Mount("/vendor", StaticFiles(directory=VENDOR_DIR), name="ogc-vendor"),
    ]
