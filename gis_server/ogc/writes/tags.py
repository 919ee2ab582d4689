"""The per-feature ETag of an editable layer, which If-Match is checked against.

Versioned layers: "v<version>" of the open version; the others: "u<updated_at µs>";
a `collections:` table (no version column to trust): "h<md5 of the row's text>",
so any change to the row, by onemap or not, changes the tag.
The tag is built in SQL, so the feature's own query can select it
(ogc/fast_items.py) and a write can read it back in its transaction.
"""

from __future__ import annotations

from psycopg import Connection, sql
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from gis_server import editing
from gis_server.database import ident, pooled
from gis_server.ogc.source import ConfigLayer
from gis_server.settings import Settings
from layers.base import LayerSpec


def tag_sql(layer: LayerSpec) -> sql.Composable:
    """The ETag's text (unquoted) of the layer's row (in a query FROM the layer's table)."""
    if isinstance(layer, ConfigLayer):  # the whole row by its relation name, as text
        return sql.SQL("'h' || md5(CAST({} AS text))").format(
            sql.Identifier(layer.table.rpartition(".")[2])
        )
    if layer.versioned:
        return sql.SQL("'v' || {}").format(ident("version"))
    return sql.SQL("'u' || (extract(epoch FROM updated_at) * 1000000)::bigint")


def current_etag(conn: Connection, layer: LayerSpec, code: object) -> str | None:
    """ETag of the current feature (versioned layers: the open version) or None."""
    where = sql.SQL("{} = %s").format(ident(layer.id_column))
    if layer.current_filter:  # trusted SQL from the registry
        where = sql.SQL("{} AND ({})").format(where, sql.SQL(layer.current_filter))
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("SELECT {} FROM {} WHERE {}").format(tag_sql(layer), ident(layer.table), where),
            (code,),
        )
        row = cur.fetchone()
    return editing.etag(row[0]) if row else None


async def add_etag(
    response: Response, settings: Settings, layer: LayerSpec | None, code: object
) -> None:
    """Give a successful GET of an editable layer's feature its ETag (for If-Match)."""
    if response.status_code != 200 or layer is None or not layer.editable:
        return

    def run() -> str | None:
        with pooled(settings.database.dsn, settings.database.pool_size) as conn:
            return current_etag(conn, layer, code)

    tag = await run_in_threadpool(run)
    if tag:
        response.headers["ETag"] = tag
