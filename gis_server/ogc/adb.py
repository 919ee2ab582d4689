"""Async PostgreSQL access for the hot read paths (items, features, tiles, ETag counters).

The statement builders (`ogc/sql.py`, `ogc/tiles/mvt.py`, `ogc/keyset.py`) produce
psycopg2 `sql` objects with named placeholders; `to_query` turns them into the
same psycopg 3 objects, and a client-side-binding cursor (`AsyncClientCursor`)
sends the finished text with the simple query protocol: one round trip, several
statements allowed (`SET LOCAL ...; SELECT ...`), values quoted by the driver.
The request never leaves the event loop: no thread-pool hop, no GIL hand-off
between a worker thread and the loop, no pool semaphore.

`AsyncDB` is a small pool bound to the event loop it was opened on (the app's
lifespan). A request on another loop (never under uvicorn) gets a one-off
connection, so behaviour never depends on the pool. Connection failures surface
immediately (a dead database is a 503 at once, as on the psycopg2 path).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import psycopg.errors
from psycopg import AsyncClientCursor, AsyncConnection, AsyncCursor, pq
from psycopg import sql as sql3
from psycopg.adapt import Loader
from psycopg2 import sql as sql2

from gis_server.errors import DatabaseUnavailable, InvalidParameter

LOGGER = logging.getLogger(__name__)

POOL_WAIT_SECONDS = 30.0


class _BytesLoader(Loader):
    """text as the bytes PostgreSQL sent: a FeatureCollection is never decoded and re-encoded."""

    def load(self, data: Any) -> bytes:
        return bytes(data)


def to_query(node: sql2.Composable) -> sql3.Composable:
    """A psycopg2 `sql` tree as the equivalent psycopg 3 one."""
    if isinstance(node, sql2.Composed):
        return sql3.Composed([to_query(part) for part in node.seq])
    if isinstance(node, sql2.SQL):
        return sql3.SQL(node.string)
    if isinstance(node, sql2.Identifier):
        return sql3.Identifier(*node.strings)
    if isinstance(node, sql2.Placeholder):
        return sql3.Placeholder(node.name or "")
    if isinstance(node, sql2.Literal):
        return sql3.Literal(node.wrapped)
    raise TypeError(f"cannot convert {node!r}")


class AsyncDB:
    """A pool of autocommit psycopg 3 connections for one event loop."""

    def __init__(
        self,
        dsn: str,
        size: int,
        statement_timeout_ms: int | None = None,
        prepared: bool = False,
    ):
        self.dsn = dsn
        self.size = size
        self.statement_timeout_ms = statement_timeout_ms
        self.prepared = prepared
        self._loop: asyncio.AbstractEventLoop | None = None
        self._idle: list[AsyncConnection[Any]] = []
        self._slots: asyncio.Semaphore | None = None

    async def open(self) -> None:
        """Bind the pool to the running loop (connections are made on demand)."""
        self._loop = asyncio.get_running_loop()
        self._slots = asyncio.Semaphore(self.size)
        self._idle = []

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        self._loop = None
        for conn in idle:
            try:
                await conn.close()
            except psycopg.Error:
                pass

    async def _connect(self) -> AsyncConnection[Any]:
        # short reads: JIT compiling a tile's or a page's expressions (~6 ms on a camera
        # tile at z12) costs more than it saves
        options = "-c jit=off"
        if self.statement_timeout_ms:
            options += f" -c statement_timeout={int(self.statement_timeout_ms)}"
        return await AsyncConnection.connect(
            self.dsn,
            autocommit=True,
            cursor_factory=AsyncClientCursor,
            # `prepared` pools prepare server-side-bound statements on first use (psycopg
            # ignores execute(prepare=True) when the threshold is None); client-side-bound
            # cursors (the default factory) never prepare
            prepare_threshold=0 if self.prepared else None,
            application_name="onemap",
            options=options,
        )

    async def acquire(self) -> AsyncConnection[Any]:
        """A connection of the pool (give it back with `release`); psycopg errors pass through.
        Off the lifespan's loop (never under uvicorn) it is a one-off connection."""
        if self._loop is None or self._loop is not asyncio.get_running_loop():
            return await self._connect()
        assert self._slots is not None
        if self._slots.locked():  # all connections busy: queue, but not forever
            try:
                await asyncio.wait_for(self._slots.acquire(), POOL_WAIT_SECONDS)
            except TimeoutError:
                raise DatabaseUnavailable("no database connection free, retry later") from None
        else:
            await self._slots.acquire()
        if self._idle:
            return self._idle.pop()
        try:
            return await self._connect()
        except BaseException:
            self._slots.release()
            raise

    async def release(self, conn: AsyncConnection[Any]) -> None:
        """Back to the pool; a closed or mid-transaction connection is closed instead."""
        pooled = self._loop is not None and self._loop is asyncio.get_running_loop()
        if pooled and not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE:
            self._idle.append(conn)
        else:
            await _discard(conn)
        if pooled:
            assert self._slots is not None
            self._slots.release()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        conn = await self.acquire()
        try:
            yield conn
        finally:
            await self.release(conn)

    @asynccontextmanager
    async def cursor(
        self, what: str = "query", text_as_bytes: bool = False
    ) -> AsyncIterator[AsyncClientCursor[Any]]:
        """An autocommit client-side-binding cursor, with `checked_connection`'s errors."""
        async with self.checked_connection(what) as conn:
            cur = conn.cursor()
            assert isinstance(cur, AsyncClientCursor)
            if text_as_bytes:
                text_as_bytes_(cur)
            try:
                yield cur
            finally:
                await cur.close()

    @asynccontextmanager
    async def checked_connection(self, what: str = "query") -> AsyncIterator[AsyncConnection[Any]]:
        """A pooled connection; database failures become onemap errors:
        a bad value is a 400, a cancelled or impossible query a 503."""
        try:
            async with self.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise onemap_error(exc, what) from None


def onemap_error(exc: psycopg.Error, what: str) -> Exception:
    """What a database failure during `what` means to the client: a bad value is a 400,
    a cancelled or impossible query a 503; anything else is re-raised as it is."""
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return DatabaseUnavailable(f"{what} took too long, retry later")
    if isinstance(exc, psycopg.DataError):
        detail = str(exc).strip().splitlines()[0]
        return InvalidParameter("value", f"invalid value: {detail}")
    if isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError)):
        LOGGER.error("database unavailable during %s: %s", what, exc)
        return DatabaseUnavailable("database unavailable, retry later")
    return exc


def text_as_bytes(cur: AsyncClientCursor[Any]) -> None:
    """From now on this cursor returns text columns as bytes."""
    cur.adapters.register_loader("text", _BytesLoader)


text_as_bytes_ = text_as_bytes  # (the name `cursor` shadows with its argument)


async def _discard(conn: AsyncConnection[Any]) -> None:
    try:
        await conn.close()
    except psycopg.Error:
        pass


async def fetch_bytes(
    conn: AsyncConnection[Any], query: bytes, values: Mapping[str, Any], prepare: bool = True
) -> bytes | None:
    """The first column of one row, by the extended protocol, the result binary (a bytea
    tile is not hex-encoded by the server and decoded here). `prepare`: the statement is
    prepared once per connection, and after five runs PostgreSQL may keep one generic plan
    for it; without, every run is planned for its own values."""
    cur = AsyncCursor(conn)
    try:
        await cur.execute(query, values, prepare=prepare, binary=True)
        row = await cur.fetchone()
    finally:
        await cur.close()
    return None if row is None or row[0] is None else bytes(row[0])


def compile_query(statement: sql2.Composable) -> bytes:
    """A builder's statement as query bytes (placeholders kept), for reuse with new values."""
    return to_query(statement).as_bytes(None)


async def execute(
    cur: AsyncClientCursor[Any], statement: sql2.Composable | bytes, values: Any
) -> None:
    """Run a builder's statement; after `SET LOCAL ...;` prefixes, the cursor is on the SELECT."""
    query = statement if isinstance(statement, bytes) else to_query(statement)
    await cur.execute(query, values)
    while cur.pgresult is not None and cur.pgresult.status != pq.ExecStatus.TUPLES_OK:
        if not cur.nextset():
            break
