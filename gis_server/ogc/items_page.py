"""One items page as one statement: PostGIS builds the Features, joins them and gives the cursor.

The statement (same `sql.py` builders as the provider) aggregates the page's
Features into one text, returns the order keys of the last row (the keyset
cursor of the next link) and, on small tables, numberMatched. Which order keys
are needed and whether a cursor is possible depend on the table (NOT NULL and
unique columns), read from the catalogue and kept per process.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from gis_server.errors import InvalidParameter
from gis_server.ogc import adb, keyset
from gis_server.ogc.query import ItemsQuery
from gis_server.ogc.row_estimate import row_estimate
from gis_server.ogc.source import Source
from gis_server.ogc.sql import (
    Binds,
    count_sql,
    from_table,
    order_by,
    order_keys,
    query_binds,
    select_feature,
    where,
)

EXACT_COUNT_MAX_ROWS = 10_000  # numberMatched is counted exactly only on tables this small
_STATS_TTL = 60.0


class TableStats:
    """NOT NULL and unique columns (cursors, order keys) and row estimates (numberMatched)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._columns: dict[str, tuple[frozenset[str], frozenset[str]]] = {}
        self._rows: dict[str, tuple[float, float]] = {}

    async def read(self, cur: Any, table: str) -> tuple[frozenset[str], frozenset[str], float]:
        """(NOT NULL columns, columns unique on their own, row estimate) of `table`."""
        now = time.monotonic()
        rows = self._rows.get(table)
        if table in self._columns and rows is not None and now - rows[1] < _STATS_TTL:
            return (*self._columns[table], rows[0])
        await cur.execute(
            "SELECT coalesce(array_agg(attname::text) FILTER (WHERE attnotnull), '{}'), "
            "coalesce(array_agg(attname::text) FILTER (WHERE EXISTS (SELECT 1 FROM pg_index i "
            "WHERE i.indrelid = attrelid AND i.indisunique AND i.indnkeyatts = 1 "
            "AND i.indpred IS NULL AND i.indkey[0] = attnum)), '{}') "
            "FROM pg_attribute WHERE attrelid = to_regclass(%(t)s) AND attnum > 0 "
            "AND NOT attisdropped",
            {"t": table},
        )
        not_null, unique = await cur.fetchone()
        rows_estimate = await row_estimate(cur, table)
        with self._lock:
            self._columns[table] = (frozenset(not_null), frozenset(unique))
            self._rows[table] = (rows_estimate, now)
        return (*self._columns[table], self._rows[table][0])


@dataclass(frozen=True, slots=True)
class Page:
    features: bytes  # the Features, comma-joined (the inside of the "features" array)
    returned: int
    matched: int | None  # numberMatched when it was free or cheap, else None
    next_cursor: str | None


def _shortest_keys(
    keys: keyset.Keys, not_null: frozenset[str], unique: frozenset[str]
) -> keyset.Keys:
    """Order keys up to the first NOT NULL unique one: later keys never break a tie."""
    for i, (name, _) in enumerate(keys):
        if name in not_null and name in unique:
            return keys[: i + 1]
    return keys


async def fetch_page(cur: Any, stats: TableStats, source: Source, q: ItemsQuery) -> Page:
    """Run the page's one statement on `cur` (an adb cursor) and read its single row."""
    binds = query_binds(q)
    not_null, unique, estimate = await stats.read(cur, source.table)
    adb.text_as_bytes(cur)
    keys = _shortest_keys(order_keys(source, q.sortby), not_null, unique)
    keyed = all(name in not_null for name, _ in keys)
    after = None
    if q.cursor is not None:
        if not keyed:
            raise InvalidParameter("cursor", "this sort order has no cursor")
        after = keyset.after(keys, keyset.decode(q.cursor, keys), binds)
    count = 0 <= estimate <= EXACT_COUNT_MAX_ROWS
    statement = _page_sql(source, q, keys, keys if keyed else None, binds, count, after)
    await adb.execute(cur, statement, binds.values)
    agg, returned, last, matched = await cur.fetchone()
    returned = int(returned)
    if 0 < returned < q.limit or (returned == 0 and q.offset == 0 and q.cursor is None):
        matched = q.offset + returned
    next_cursor = keyset.encode(keys, last.decode()) if keyed and last is not None else None
    return Page(agg or b"", returned, matched, next_cursor)


def _page_sql(
    source: Source,
    q: ItemsQuery,
    order: keyset.Keys,
    keys: keyset.Keys | None,
    binds: Binds,
    count: bool,
    after: sql.Composable | None,
) -> sql.Composable:
    """One statement: (features joined by commas, numberReturned, last keys, numberMatched)."""
    last = keyset.values_expr(keys) if keys else sql.SQL("NULL::text")
    offset = 0 if q.cursor is not None else q.offset
    # The page is chosen on the bare rows (index order, LIMIT/OFFSET); JSON is
    # built only for the rows kept, so a deep offset does not build skipped JSON.
    rows = sql.Composed(
        [
            sql.SQL("SELECT *"),
            from_table(source),
            where(source, q, binds, after),
            order_by(order),
            sql.SQL(" LIMIT {} OFFSET {}").format(binds(q.limit), binds(offset)),
        ]
    )
    matched: sql.Composable = sql.SQL("NULL::bigint")
    if count and q.cursor is None:  # a cursor page is not counted
        matched = sql.SQL("({})").format(count_sql(source, q, binds))
    return sql.SQL(
        "SELECT string_agg(f, ',' ORDER BY onemap_rn), count(*), "
        "(array_agg(k ORDER BY onemap_rn DESC))[1], {matched} "
        "FROM ({select} AS f, {last} AS k, onemap_rn "
        "FROM (SELECT *, row_number() OVER () AS onemap_rn FROM ({rows}) r) t) s"
    ).format(
        matched=matched,
        select=select_feature(source, q.crs, q.select, q.skip_geometry),
        last=last,
        rows=rows,
    )
