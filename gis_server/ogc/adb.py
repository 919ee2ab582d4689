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

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[AsyncConnection[Any]]:
        if self._loop is None or self._loop is not asyncio.get_running_loop():
            conn = await self._connect()  # not the lifespan's loop: one-off connection
            try:
                yield conn
            finally:
                await conn.close()
            return
        assert self._slots is not None
        if self._slots.locked():  # all connections busy: queue, but not forever
            try:
                await asyncio.wait_for(self._slots.acquire(), POOL_WAIT_SECONDS)
            except TimeoutError:
                raise DatabaseUnavailable("no database connection free, retry later") from None
        else:
            await self._slots.acquire()
        conn = None
        try:
            conn = self._idle.pop() if self._idle else await self._connect()
            yield conn
        finally:
            if conn is not None:
                if not conn.closed and conn.info.transaction_status == pq.TransactionStatus.IDLE:
                    self._idle.append(conn)
                else:
                    await _discard(conn)
            self._slots.release()

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
        except psycopg.errors.QueryCanceled:
            raise DatabaseUnavailable(f"{what} took too long, retry later") from None
        except psycopg.DataError as exc:
            detail = str(exc).strip().splitlines()[0]
            raise InvalidParameter("value", f"invalid value: {detail}") from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            if (getattr(exc, "sqlstate", None) or "").startswith("54"):  # program limit exceeded:
                detail = str(exc).strip().splitlines()[0]  # the request's fault, not the server's
                raise InvalidParameter("request", f"too large for the database: {detail}") from None
            LOGGER.exception("database unavailable during %s", what)
            raise DatabaseUnavailable("database unavailable, retry later") from None


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
