"""Collections' extents from the data, kept per layer version.

A collection's `extent` tells clients (QGIS's zoom-to-layer, STAC-ish catalogues)
where and when its features are; a fixed district box and an open `[null, null]`
interval tell them nothing. Spatial: ST_Extent of the geometry column (on tables
estimated above `ESTIMATE_ABOVE_ROWS`, ST_EstimatedExtent from the planner's
statistics, exact when there are none), as a CRS84 box. Temporal: min of the
time property and max of the end (or the time) property.

Each result is keyed by the table's `layer_changes` version, so an insert, update
or delete is seen on the next request; a table without a counter (a view or a
table from `collections:`) is re-read every `UNVERSIONED_TTL_S`. A table that
cannot be measured within `TIMEOUT_MS` keeps the district box.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from gis_server.ogc import adb, caching
from gis_server.ogc.row_estimate import row_estimate
from gis_server.ogc.source import Source

LOGGER = logging.getLogger(__name__)

ESTIMATE_ABOVE_ROWS = 1_000_000
UNVERSIONED_TTL_S = 60.0
TIMEOUT_MS = 2_000

Box = tuple[float, float, float, float]
Interval = tuple[datetime | None, datetime | None]


# ST_EstimatedExtent of the table, or the union of its partitions' (a partitioned
# parent has no statistics of its own)
_ESTIMATED = (
    "SELECT coalesce((SELECT ST_Extent(ST_EstimatedExtent(n.nspname, c.relname, %(col)s)::geometry) "
    "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE i.inhparent = to_regclass(%(t)s)), "
    "(SELECT ST_EstimatedExtent(n.nspname, c.relname, %(col)s)::geometry FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(%(t)s) "
    "AND c.relkind <> 'p'))"
)


def _box_sql(source: Source, estimated: bool) -> sql.Composable:
    if estimated:
        inner = sql.SQL("SELECT ({})::geometry AS e").format(sql.SQL(_ESTIMATED))
    else:
        inner = sql.SQL("SELECT ST_Extent({geom})::geometry AS e FROM {table}").format(
            geom=sql.Identifier(source.geometry_column),
            table=sql.Identifier(*source.table.split(".")),
        )
    box84 = sql.SQL("ST_Transform(ST_SetSRID(e, {srid}), 4326)").format(
        srid=sql.Literal(source.srid)
    )
    return sql.SQL(
        "SELECT ST_XMin(b), ST_YMin(b), ST_XMax(b), ST_YMax(b) "
        "FROM (SELECT {box84} AS b FROM ({inner}) s WHERE e IS NOT NULL) t"
    ).format(box84=box84, inner=inner)


async def _estimated_box(cur: Any, source: Source) -> Any:
    """The planner's box, or None (no statistics, or PostGIS refused: then exact)."""
    await cur.execute("SAVEPOINT onemap_estimate")
    try:
        await cur.execute(
            _box_sql(source, True), {"t": source.table, "col": source.geometry_column}
        )
        row = await cur.fetchone()
    except psycopg.Error:
        await cur.execute("ROLLBACK TO SAVEPOINT onemap_estimate")
        return None
    await cur.execute("RELEASE SAVEPOINT onemap_estimate")
    return row


def _interval_sql(source: Source) -> sql.Composable:
    end = source.time_end or source.time_start
    return sql.SQL("SELECT min({start}), max({end}) FROM {table}").format(
        start=sql.Identifier(source.time_start or ""),
        end=sql.Identifier(end or ""),
        table=sql.Identifier(*source.table.split(".")),
    )


async def measure(cur: Any, source: Source) -> tuple[Box | None, Interval | None]:
    """(CRS84 box or None when there are no geometries, interval or None when untimed)."""
    estimated = await row_estimate(cur, source.table) > ESTIMATE_ABOVE_ROWS
    row = await _estimated_box(cur, source) if estimated else None
    if row is None:
        await cur.execute(_box_sql(source, False))
        row = await cur.fetchone()
    box = tuple(float(v) for v in row) if row is not None and None not in row else None
    interval = None
    if source.temporal:
        await cur.execute(_interval_sql(source))
        interval = tuple(await cur.fetchone())
    return box, interval  # type: ignore[return-value]


class DataExtents:
    """Per collection: (version key, box, interval), measured again when the key changes."""

    def __init__(self, db: adb.AsyncDB, versions: caching.LayerVersions, fallback: Box):
        self.db = db
        self.versions = versions
        self.fallback = fallback
        self._kept: dict[str, tuple[object, Box | None, Interval | None]] = {}

    async def _key(self, source: Source) -> object:
        change = await self.versions.get_async(source.table, self.db)
        if change is not None:
            return change.stamp
        return int(time.monotonic() // UNVERSIONED_TTL_S)

    async def get(self, source: Source) -> tuple[Box | None, Interval | None]:
        key = await self._key(source)
        kept = self._kept.get(source.id)
        if kept is not None and kept[0] == key:
            return kept[1], kept[2]
        try:
            async with self.db.connection() as conn, conn.transaction():
                cur = conn.cursor()
                await cur.execute(f"SET LOCAL statement_timeout = {TIMEOUT_MS}")
                box, interval = await measure(cur, source)
        except psycopg.Error as exc:  # the configured box rather than no collection
            LOGGER.warning("extent of %s not measured: %s", source.id, exc)
            return None, None
        self._kept[source.id] = (key, box, interval)
        return box, interval

    async def apply(self, resources: dict[str, Any], sources: list[Source]) -> None:
        """Write the measured extents into pygeoapi's resource dicts (read per request)."""
        for source in sources:
            resource = resources.get(source.id)
            if resource is None:
                continue
            box, interval = await self.get(source)
            extents = dict(resource["extents"])
            extents["spatial"] = {**extents["spatial"], "bbox": list(box or self.fallback)}
            if source.temporal:
                begin, end = interval or (None, None)
                extents["temporal"] = {**extents.get("temporal", {}), "begin": begin, "end": end}
            resource["extents"] = extents
