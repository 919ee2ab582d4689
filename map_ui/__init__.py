"""map_ui: the big-screen console page, built with Folium from the layer registry.

Depends on `layers` only; the page talks to the server over HTTP from the browser.
"""

from map_ui.assets import STATIC_DIR
from map_ui.options import ConsoleOptions
from map_ui.page import build_console_page

__all__ = ["STATIC_DIR", "ConsoleOptions", "build_console_page"]
