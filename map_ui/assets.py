"""Every asset the page loads, served by onemap itself at pinned versions.

Folium's elements carry CDN URLs in `default_js` / `default_css`; `localize`
swaps the ones the console uses for the vendored copies and drops the rest
(jQuery, Bootstrap, Font Awesome, awesome-markers: the console does not use
them). `external_urls` is the guard: a page with any left is not served.
"""

from __future__ import annotations

import re
from pathlib import Path

from branca.element import Element

STATIC_DIR = Path(__file__).resolve().parent / "static"

LEAFLET = "vendor/leaflet-1.9.4"
MARKERCLUSTER = "vendor/leaflet.markercluster-1.5.3"
HEAT = "vendor/leaflet.heat-0.2.0"
GEOMAN = "vendor/leaflet-geoman-free-2.20.2"
VECTORGRID = "vendor/leaflet.vectorgrid-1.3.0"

# Folium asset names -> vendored path (None: not used by the console, dropped).
FOLIUM_JS: dict[str, str | None] = {
    "leaflet": f"{LEAFLET}/leaflet.js",
    "jquery": None,
    "bootstrap": None,
    "awesome_markers": None,
    "leaflet.markercluster.js": f"{MARKERCLUSTER}/leaflet.markercluster.js",
    "leaflet-heat.js": f"{HEAT}/leaflet-heat.js",
}
FOLIUM_CSS: dict[str, str | None] = {
    "leaflet_css": f"{LEAFLET}/leaflet.css",
    "bootstrap_css": None,
    "glyphicons_css": None,
    "awesome_markers_font_css": None,
    "awesome_markers_css": None,
    "awesome_rotate_css": None,
    "MarkerCluster.css": f"{MARKERCLUSTER}/MarkerCluster.css",
    "MarkerCluster.Default.css": f"{MARKERCLUSTER}/MarkerCluster.Default.css",
}

# The console's own code, in load order (plain readable scripts, no bundler).
CONSOLE_JS = (
    "console/gcj02.js",
    "console/core.js",
    "console/districts.js",
    "console/control.js",
    "console/basemap.js",
    "console/areas.js",
    "console/mvt.js",
    "console/cameras.js",
    "console/vehicles.js",
    "console/fleet.js",
    "console/workers.js",
    "console/live.js",
    "console/geofences.js",
    "console/events.js",
    "console/tracks.js",
    "console/replay.js",
    "console/panel.js",
    "console/search.js",
    "console/pointquery.js",
    "console/auth.js",
    "console/editing.js",
    "console/dispatch.js",
    "console/charts.js",
    "console/console.js",
)
CONSOLE_CSS = ("console/console.css",)
PLUGIN_JS = (
    f"{HEAT}/leaflet-heat.js",
    f"{VECTORGRID}/Leaflet.VectorGrid.bundled.min.js",  # cameras and events from MVT tiles
    f"{GEOMAN}/leaflet-geoman.min.js",  # grid editing (only switched on for GIS editors)
)
PLUGIN_CSS = (f"{GEOMAN}/leaflet-geoman.css",)


def _swap(
    assets: list[tuple[str, str]], table: dict[str, str | None], base: str
) -> list[tuple[str, str]]:
    out = []
    for name, url in assets:
        if url.startswith(base + "/"):
            out.append((name, url))  # already ours
            continue
        if name not in table:
            raise KeyError(f"folium asset {name!r} ({url}) has no local copy; vendor it first")
        local = table[name]
        if local is not None:
            out.append((name, f"{base}/{local}"))
    return out


def localize(element: Element, static_url: str) -> None:
    """Point this element and its children at the vendored assets (drop unused ones)."""
    for child in [element, *_descendants(element)]:
        if hasattr(child, "default_js"):
            child.default_js = _swap(list(child.default_js), FOLIUM_JS, static_url)
        if hasattr(child, "default_css"):
            child.default_css = _swap(list(child.default_css), FOLIUM_CSS, static_url)


def _descendants(element: Element) -> list[Element]:
    found = []
    for child in element._children.values():
        found.append(child)
        found.extend(_descendants(child))
    return found


_URL_ATTR = re.compile(r"""(?:src|href)\s*=\s*["']((?:https?:)?//[^"']+)["']""", re.I)


def external_urls(html: str) -> list[str]:
    """Absolute URLs the page would load from another host (links in text are fine)."""
    return _URL_ATTR.findall(html)
