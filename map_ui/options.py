"""What the console page needs to know about its deployment (filled from settings by the server)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ConsoleOptions:
    """Deployment facts for the page; a plain object so map_ui never imports gis_server."""

    title: str = "一张图 onemap"
    title_en: str = "onemap"
    district_name: str = ""
    extent: tuple[float, float, float, float] = (121.0, 31.7, 121.6, 32.2)
    static_url: str = "/static/console"
    api_url: str = "/api/console"
    ogc_url: str = "/ogc"  # the large layers are drawn from its vector tiles
    # how long a server process may answer tiles from its copy of the layer versions: a
    # change seen on the live stream is refetched once that has passed
    tile_versions_ttl_ms: int = 1000
    # Extra tile basemaps: dicts with name, url, attribution, crs_variant, max_zoom, subdomains.
    basemaps: list[dict[str, Any]] = field(default_factory=list)
    vehicles_refresh_s: int = 5
    stats_refresh_s: int = 30
    events_refresh_s: int = 60
    layers_refresh_s: int = 60
    live_url: str = "/api/live"  # server-sent events: vehicles move without polling
    offline_after_s: int = 300  # a vehicle silent this long shows as offline
