"""Build the console page with Folium: a bare map plus the console's own scripts.

Layers are not embedded in the HTML (20,000 cameras would make a 3 MB page);
the browser fetches them from /api/console after the map is up, so the page
itself stays small and cacheable.
"""

from __future__ import annotations

import json
from pathlib import Path

import folium
import jinja2
from branca.element import Element, Figure
from folium.elements import JSCSSMixin
from folium.template import Template

from map_ui.assets import (
    CONSOLE_CSS,
    CONSOLE_JS,
    PLUGIN_CSS,
    PLUGIN_JS,
    external_urls,
    localize,
)
from map_ui.client_config import client_config
from map_ui.options import ConsoleOptions

TEMPLATES = Path(__file__).resolve().parent / "templates"


class ConsoleApp(JSCSSMixin):
    """Loads the console scripts and starts them on the Folium map object."""

    _template = Template("""
{% macro script(this, kwargs) %}
    OnemapConsole.start({{ this._parent.get_name() }}, {{ this.config_json }});
{% endmacro %}
""")

    def __init__(self, options: ConsoleOptions):
        super().__init__()
        self._name = "OnemapConsole"
        base = options.static_url
        self.default_js = [(path, f"{base}/{path}") for path in (*PLUGIN_JS, *CONSOLE_JS)]
        self.default_css = [(path, f"{base}/{path}") for path in (*PLUGIN_CSS, *CONSOLE_CSS)]
        # "</" must not end the inline <script>: escape it inside JSON strings.
        self.config_json = json.dumps(client_config(options), ensure_ascii=False).replace(
            "</", "<\\/"
        )


def _chrome(options: ConsoleOptions) -> str:
    """Header, side panel, search box and track bar around the map (HTML template)."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    return env.get_template("chrome.html").render(o=options)


def build_console_page(options: ConsoleOptions) -> str:
    """The complete console HTML; raises if anything would load from another host."""
    minx, miny, maxx, maxy = options.extent
    figure = Figure(title=f"{options.title} {options.title_en}")
    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=11,
        tiles=None,
        prefer_canvas=True,
        control_scale=True,
        zoom_control=False,
        max_zoom=19,
        attribution_control=True,
    )
    figure.add_child(m)
    m.add_child(ConsoleApp(options))
    figure.header.add_child(
        Element('<meta name="color-scheme" content="dark">'), name="color_scheme"
    )
    figure.header.add_child(
        Element(
            f'<link rel="icon" type="image/svg+xml" href="{options.static_url}/console/favicon.svg">'
        ),
        name="favicon",
    )
    figure.html.add_child(Element(_chrome(options)), name="console_chrome")
    localize(figure, options.static_url)
    html = figure.render()
    leaks = external_urls(html)
    if leaks:
        raise RuntimeError(f"console page would load external assets: {leaks}")
    return html
