"""OGC API Features Part 4 on the editable layers: POST, PUT, PATCH (merge-patch), DELETE.

Bodies are checked against the layer registry (only LayerSpec.properties, typed,
enums; the layer's geometry type; valid geometry) and answered 422 naming the
property (`checks`). Versioned layers (grids) go through `layers.grid_edits.apply`
(new version, topology rules, re-assignment: `versioned`); other layers are
updated in place (`in_place`). Every write is authorised with `require_write`, runs
in one transaction with its audit row, and honours If-Match (`tags`: ETag
"v<version>" for versioned layers, "u<updated_at µs>" for the others).

`?dry_run=true` runs the same checks and the same statements, then rolls back:
the answer is the would-be feature (200, `"onemap:dry_run": true`, no ETag) or
the very 409/412/422 the write would get, and nothing is written.
"""

from gis_server.ogc.writes.routes import write_routes
from gis_server.ogc.writes.tags import add_etag

__all__ = ["add_etag", "write_routes"]
