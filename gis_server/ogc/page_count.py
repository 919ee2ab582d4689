"""numberMatched for big tables: an exact count racing the page, kept only if it is cheap.

tipg, pygeoapi and GeoServer give numberMatched on every page; QGIS and GDAL show
it as the feature count. On a table too big to count inside the page's own
statement (`items_page.EXACT_COUNT_MAX_ROWS`) the count runs at the same time as
the page, on a second pooled connection, bounded by the budget
(`ogc.count_budget_ms`) twice over: an asyncio timeout around the pool wait and
the query (psycopg cancels a query whose task is cancelled), and
`SET LOCAL statement_timeout` so the server stops it even if the client is gone.
A count over budget is dropped and the page goes out without numberMatched.
"""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg.errors

from gis_server.ogc import adb
from gis_server.ogc.query import ItemsQuery
from gis_server.ogc.source import Source
from gis_server.ogc.sql import count_sql, query_binds


async def count_within(
    db: adb.AsyncDB, source: Source, q: ItemsQuery, budget_ms: int
) -> int | None:
    """The exact count of the rows `q` filters (bbox, datetime, CQL2, properties), or
    None when it does not finish within `budget_ms` (0: never counted)."""
    if budget_ms <= 0:  # statement_timeout 0 would mean "no limit"
        return None
    binds = query_binds(q)
    statement = count_sql(source, q, binds)
    try:
        async with asyncio.timeout(budget_ms / 1000):  # the pool wait counts too
            async with db.connection() as conn, conn.transaction():
                cur = conn.cursor()
                await cur.execute(f"SET LOCAL statement_timeout = {int(budget_ms)}")
                await cur.execute(statement, binds.values)
                row = await cur.fetchone()
    except (TimeoutError, psycopg.errors.QueryCanceled):
        return None
    return int(row[0]) if row is not None else None


def start(db: adb.AsyncDB, source: Source, q: ItemsQuery, budget_ms: int) -> asyncio.Task[Any]:
    """The count as a task on the running loop, to be awaited after the page (`result`)."""
    return asyncio.create_task(count_within(db, source, q, budget_ms))


async def result(task: asyncio.Task[Any] | None) -> int | None:
    """The count if there was one; a count that failed never fails the page."""
    if task is None:
        return None
    try:
        return await task
    except Exception:  # noqa: BLE001 - the page is already made; numberMatched is optional
        return None


async def drop(task: asyncio.Task[Any] | None) -> None:
    """Stop a count no longer needed (the page was short, or failed)."""
    if task is None or task.done():
        if task is not None and not task.cancelled():
            task.exception()  # retrieved: no "never retrieved" warning
        return
    task.cancel()
    try:
        await task
    except BaseException:  # noqa: BLE001 - its cancellation (or failure) is the point
        pass
