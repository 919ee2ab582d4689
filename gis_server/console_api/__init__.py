"""The console's small JSON API (/api/console/...): what the big screen draws and asks.

Why not the OGC API: the console needs a few shapes the OGC API does not give
cheaply — simplified polygons with per-grid counts, compact row arrays for
20,000 cameras, per-town figures, search across layers and a point query.
Every JSON body is built inside PostGIS (one text value per query), values are
bound parameters, and reporter contacts (event_contacts) are never read here.

`handlers` holds the route handlers (`ConsoleApi`); the SQL lives by what it
serves: `layers` (what the map draws), `figures` (the event list and the side
panels' numbers), `lookup` (the point query and search); `bodies` caches the
bodies and answers with ETags and gzip through `gis_server.ogc.caching`.
"""

from gis_server.console_api.bodies import digest_body, json_response
from gis_server.console_api.handlers import ConsoleApi

__all__ = ["ConsoleApi", "digest_body", "json_response"]
