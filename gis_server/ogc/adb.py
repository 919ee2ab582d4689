"""Async PostgreSQL access for the hot read paths (items, features, tiles, ETag counters).

The statement builders (`ogc/sql.py`, `ogc/tiles/mvt.py`, `ogc/keyset.py`) produce
psycopg 3 `sql` objects with named placeholders; a client-side-binding cursor (`AsyncClientCursor`)
sends the finished text with the simple query protocol: one round trip, several
statements allowed (`SET LOCAL ...; SELECT ...`), values quoted by the driver.
The request never leaves the event loop: no thread-pool hop, no GIL hand-off
between a worker thread and the loop, no pool semaphore.

`AsyncDB` is a psycopg_pool `AsyncConnectionPool` bound to the event loop it was
opened on (the app's lifespan; kept on `app.state.db`). A request on another loop
(never under uvicorn) gets a one-off connection, so behaviour never depends on the
pool. A dead database is a 503 at once, as on the sync path: the same probe in
front of the pool's wait (see `gis_server.database`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import psycopg.errors
from psycopg import AsyncClientCursor, AsyncConnection, AsyncCursor, pq, sql
from psycopg.adapt import Loader
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gis_server import replicas
from gis_server.database import (
    PROBE_CONNECT_TIMEOUT_S,
    RECONNECT_TIMEOUT_S,
    WAIT_SLICE_SECONDS,
    dropped,
)
from gis_server.errors import DatabaseUnavailable, InvalidParameter

LOGGER = logging.getLogger(__name__)

POOL_WAIT_SECONDS = 30.0


class _BytesLoader(Loader):
    """text as the bytes PostgreSQL sent: a FeatureCollection is never decoded and re-encoded."""

    def load(self, data: Any) -> bytes:
        return bytes(data)


class AsyncDB:
    """A `psycopg_pool.AsyncConnectionPool` of autocommit psycopg 3 connections for one
    event loop, with the sync pool's fail-fast probe in front (`gis_server.database`)."""

    def __init__(
        self,
        dsn: str,
        size: int,
        statement_timeout_ms: int | None = None,
        prepared: bool = False,
        replica_dsns: tuple[str, ...] | list[str] = (),
    ):
        self.dsn = dsn
        self.size = size
        self.statement_timeout_ms = statement_timeout_ms
        self.prepared = prepared
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pool: AsyncConnectionPool[Any] | None = None
        self._down = False
        # this pool's twins on the read replicas (same options), by URL
        self._replicas = {
            r: AsyncDB(r, size, statement_timeout_ms, prepared) for r in replica_dsns if r != dsn
        }

    def _connect_kwargs(self) -> dict[str, Any]:
        # short reads: JIT compiling a tile's or a page's expressions (~6 ms on a camera
        # tile at z12) costs more than it saves
        options = "-c jit=off"
        if self.statement_timeout_ms:
            options += f" -c statement_timeout={int(self.statement_timeout_ms)}"
        return {
            "autocommit": True,
            "cursor_factory": AsyncClientCursor,
            # `prepared` pools prepare server-side-bound statements on first use (psycopg
            # ignores execute(prepare=True) when the threshold is None); client-side-bound
            # cursors (the default factory) never prepare
            "prepare_threshold": 0 if self.prepared else None,
            "application_name": "onemap",
            "options": options,
        }

    async def open(self) -> None:
        """Bind the pool to the running loop (connections are made on demand)."""
        await self.close()
        self._loop = asyncio.get_running_loop()
        self._pool = AsyncConnectionPool(
            self.dsn,
            min_size=0,
            max_size=self.size,
            kwargs=self._connect_kwargs(),
            open=False,
            timeout=POOL_WAIT_SECONDS,
            reconnect_timeout=RECONNECT_TIMEOUT_S,
        )
        await self._pool.open(wait=False)
        for twin in self._replicas.values():
            await twin.open()

    async def close(self) -> None:
        pool, self._pool, self._loop = self._pool, None, None
        if pool is not None:
            await pool.close()
        for twin in self._replicas.values():
            await twin.close()

    async def _connect(self, **kwargs: Any) -> AsyncConnection[Any]:
        return await AsyncConnection.connect(self.dsn, **{**self._connect_kwargs(), **kwargs})

    async def _reachable(self) -> bool:
        """Connect once, outside the pool: is the database there now?"""
        try:
            await (await self._connect(connect_timeout=PROBE_CONNECT_TIMEOUT_S)).close()
        except psycopg.OperationalError:
            self._down = True
            return False
        if self._down and self._pool is not None:
            self._down = False
            await self._pool.check()  # drop the connections the outage broke
        return True

    async def _get(self, pool: AsyncConnectionPool[Any]) -> AsyncConnection[Any]:
        if self._down and not await self._reachable():
            raise psycopg.OperationalError("database unreachable")
        deadline = time.monotonic() + POOL_WAIT_SECONDS
        while True:  # all connections busy: queue, but not forever, nor for a dead database
            try:
                return await pool.getconn(timeout=WAIT_SLICE_SECONDS)
            except PoolTimeout:
                if not await self._reachable():
                    raise psycopg.OperationalError("database unreachable") from None
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable("no database connection free, retry later") from None

    async def _lease(self) -> tuple[AsyncConnection[Any], bool]:
        """(connection, from the pool?): a one-off connection off the lifespan's loop."""
        pool = self._pool
        if pool is None or self._loop is not asyncio.get_running_loop():
            return await self._connect(), False
        return await self._get(pool), True

    async def _live_lease(self) -> tuple[AsyncConnection[Any], bool] | None:
        """A lease on a connection its server has not hung up on (a replica's), or None."""
        for _ in range(self.size + 1):
            try:
                conn, pooled = await self._lease()
            except (psycopg.OperationalError, DatabaseUnavailable):
                return None
            if not dropped(conn):
                return conn, pooled
            await conn.close()
            if pooled and self._pool is not None:
                await self._pool.putconn(conn)
        return None

    @asynccontextmanager
    async def _using(self, lease: tuple[AsyncConnection[Any], bool]) -> AsyncIterator[Any]:
        conn, pooled = lease
        try:
            yield conn
        except psycopg.OperationalError:
            if pooled and (conn.broken or conn.closed):
                self._down = True  # the next request probes first
            raise
        finally:
            if pooled and self._pool is not None:
                await self._pool.putconn(conn)  # a broken connection is dropped by the pool
            else:
                await conn.close()

    @asynccontextmanager
    async def connection(self, primary: bool = False) -> AsyncIterator[AsyncConnection[Any]]:
        """A connection for reads: the request's replica (`gis_server.replicas`) when it
        has one and it answers, else this pool's server; `primary`: always the latter."""
        target = self.dsn if primary else replicas.read_dsn(self.dsn)
        twin = self._replicas.get(target) if target != self.dsn else None
        lease = await twin._live_lease() if twin is not None else None
        if twin is not None and lease is None:
            replicas.mark_down(self.dsn, target)  # read the primary until it is back
        elif twin is not None and lease is not None:
            async with twin._using(lease) as conn:
                yield conn
            return
        async with self._using(await self._lease()) as conn:
            yield conn

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


def compile_query(statement: sql.Composable) -> bytes:
    """A builder's statement as query bytes (placeholders kept), for reuse with new values."""
    return statement.as_bytes(None)


async def execute(
    cur: AsyncClientCursor[Any], statement: sql.Composable | bytes, values: Any
) -> None:
    """Run a builder's statement; after `SET LOCAL ...;` prefixes, the cursor is on the SELECT."""
    await cur.execute(statement, values)
    while cur.pgresult is not None and cur.pgresult.status != pq.ExecStatus.TUPLES_OK:
        if not cur.nextset():
            break
