"""Part 4 writes of a versioned layer (grids): every write closes the open version and
opens version + 1 through `layers.grid_edits.apply`, so the topology rules, the
re-assignment of cameras and events and the history apply as to every grid edit."""

from __future__ import annotations

from psycopg import Connection

from gis_server import editing
from gis_server.errors import NotFound
from gis_server.ogc.writes.feature import FeatureWrite, Written, validate_geometry_sql
from gis_server.settings import Settings
from layers import grid_edits


def _change(write: FeatureWrite) -> grid_edits.Change:
    """The next state of the grid: a PUT's omitted attributes become empty, DELETE closes."""
    if write.method == "DELETE":
        return grid_edits.Change(write.code, None, write.geometry)
    values = {k: v for k, v in write.props.items() if k != "code"}
    if write.method == "PUT":
        values = {k: values.get(k) for k in grid_edits.WRITABLE}
    return grid_edits.Change(write.code, values, write.geometry, create=write.method == "POST")


def write_version(conn: Connection, write: FeatureWrite, settings: Settings) -> Written:
    """Apply the write as a new version (If-Match names the version the editor saw)."""
    with conn.cursor() as cur:
        if write.geometry is not None:
            validate_geometry_sql(cur, write.geometry)
        expected = None
        if write.tags is not None:
            expected = {write.code: editing.expected_version(write.tags)}
        if write.method != "POST" and grid_edits.current(cur, write.code) is None:
            raise NotFound(f"没有该网格 — no grid {write.code!r}")
        result = grid_edits.apply(
            cur, [_change(write)], expected=expected, tolerance=editing.tolerance(settings)
        )
    editing.audit_grid_edit(conn, write.principal, write.action, result, write.request)
    after = result.after.get(write.code)
    etag = editing.grid_etag(after["properties"]["version"]) if after else None
    return Written(after, result.outputs(), etag)
