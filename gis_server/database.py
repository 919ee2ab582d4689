"""Database access of the synchronous request paths: psycopg 3 from `psycopg_pool`.

`pooled(dsn, size)` lends a connection of the pool for `dsn` (the app's, opened in
its lifespan and kept on `app.state.db`; made on first use for other callers) and
rolls back what was not committed when it comes back. Cursors bind values on the
client (`ClientCursor`): the same SQL text that psycopg2 ran, `SET LOCAL …; SELECT`
in one execute, and `layers/` rules run unchanged on either driver.

A dead database is a 503 at once, not after a pool wait: psycopg_pool keeps a client
waiting while it reconnects in the background (with backoff, seconds), so a
request waits in slices of WAIT_SLICE_SECONDS and probes the server with its own
connect between them; once the database was seen down, every request probes
first, and the first probe that connects clears the flag and the pool's broken
connections (service is back within a request of the database's return).
Threads beyond `size` wait their turn, bounded: a 503 after POOL_WAIT_SECONDS.
"""

from __future__ import annotations

import logging
import select
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import ClientCursor, sql
from psycopg_pool import ConnectionPool, PoolTimeout

from gis_server import replicas
from gis_server.errors import DatabaseUnavailable

LOGGER = logging.getLogger(__name__)

POOL_WAIT_SECONDS = 30.0
WAIT_SLICE_SECONDS = 0.25
PROBE_CONNECT_TIMEOUT_S = 1
# psycopg_pool retries a failed connect with backoff (1 s, 2 s, 4 s …) and grows no further
# meanwhile; giving up after half a second lets the next request after the outage grow it
RECONNECT_TIMEOUT_S = 0.5
CONNECT_KWARGS: dict[str, Any] = {"application_name": "onemap", "cursor_factory": ClientCursor}


def ident(*parts: str) -> sql.Composable:
    """Quote a (possibly schema-qualified) identifier: the one way names enter SQL."""
    names = [p for part in parts for p in part.split(".")]
    return sql.Identifier(*names)


def connect(dsn: str, **kwargs: Any) -> psycopg.Connection[Any]:
    """One psycopg 3 connection like the pool's (the CLI's, one-off callers)."""
    return psycopg.connect(dsn, **{**CONNECT_KWARGS, **kwargs})


class SyncPool:
    """Up to `size` psycopg 3 connections to one database (a psycopg_pool pool, filled on
    demand), with the fail-fast probe in front."""

    def __init__(self, dsn: str, size: int):
        self.dsn, self.size = dsn, size
        self._down = threading.Event()
        self.pool = ConnectionPool(
            dsn,
            min_size=0,
            max_size=size,
            kwargs=CONNECT_KWARGS,
            open=False,
            timeout=POOL_WAIT_SECONDS,
            reconnect_timeout=RECONNECT_TIMEOUT_S,
            name=f"onemap-{id(self):x}",
        )
        self.pool.open(wait=False)

    def _reachable(self) -> bool:
        """Connect once, outside the pool: is the database there now?"""
        try:
            connect(self.dsn, connect_timeout=PROBE_CONNECT_TIMEOUT_S).close()
        except psycopg.OperationalError as exc:
            LOGGER.warning("database unreachable: %s", str(exc).strip().splitlines()[:1])
            self._down.set()
            return False
        if self._down.is_set():
            self._down.clear()
            self.pool.check()  # drop the connections the outage broke
        return True

    def _get(self) -> psycopg.Connection[Any]:
        if self._down.is_set() and not self._reachable():
            raise DatabaseUnavailable("database unavailable, retry later")
        deadline = time.monotonic() + POOL_WAIT_SECONDS
        while True:
            try:
                return self.pool.getconn(timeout=WAIT_SLICE_SECONDS)
            except PoolTimeout:
                if not self._reachable():
                    raise DatabaseUnavailable("database unavailable, retry later") from None
                if time.monotonic() > deadline:
                    raise DatabaseUnavailable("no database connection free, retry later") from None

    def lend(self) -> psycopg.Connection[Any]:
        """A connection for `connection(conn)` (DatabaseUnavailable if there is none)."""
        return self._get()

    @contextmanager
    def connection(
        self, conn: psycopg.Connection[Any] | None = None
    ) -> Iterator[psycopg.Connection[Any]]:
        """A connection (or `lend`'s), rolled back and returned (dropped if it broke)."""
        conn = conn if conn is not None else self._get()
        try:
            yield conn
        except psycopg.OperationalError as exc:
            if not (conn.broken or conn.closed):
                raise  # the statement's failure (cancelled, too large): the caller's to name
            self._down.set()  # the next request probes before it waits
            LOGGER.error("database connection lost: %s", str(exc).strip().splitlines()[:1])
            raise DatabaseUnavailable("database unavailable, retry later") from None
        finally:
            try:
                if not conn.closed and not conn.broken:
                    conn.rollback()
            except psycopg.Error:
                conn.close()
            self.pool.putconn(conn)

    def close(self) -> None:
        self.pool.close()


def dropped(conn: Any) -> bool:
    """The server spoke to (or hung up on) an idle connection: a replica's shutdown
    notice, never a reply. One non-blocking select, no round trip."""
    try:
        readable, _, _ = select.select([conn.fileno()], [], [], 0)
    except (OSError, ValueError, psycopg.Error):
        return True
    return bool(readable)


def _live_connection(pool: SyncPool) -> psycopg.Connection[Any] | None:
    """A replica connection that is not one its server has hung up on, or None."""
    for _ in range(pool.size + 1):
        try:
            conn = pool.lend()
        except DatabaseUnavailable:
            return None
        if not dropped(conn):
            return conn
        conn.close()
        pool.pool.putconn(conn)  # a closed connection is discarded by the pool
    return None


_pools: dict[str, SyncPool] = {}
_pools_lock = threading.Lock()


def open_pool(dsn: str, size: int) -> SyncPool:
    """The process's pool for `dsn` (made on first use; no connection is opened here)."""
    with _pools_lock:
        pool = _pools.get(dsn)
        if pool is None:
            pool = _pools[dsn] = SyncPool(dsn, size)
        return pool


def close_pool() -> None:
    """Close every pool (the app's shutdown, a test session's end)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


@contextmanager
def pooled(dsn: str, size: int = 8, read: bool = False) -> Iterator[psycopg.Connection[Any]]:
    """A connection from this process's pool for `dsn`; rolled back and returned afterwards.

    `read`: the caller only reads, so a GET may be served by the replica that
    `gis_server.replicas` chose for the request (the primary if none, or if it fails)."""
    target = replicas.read_dsn(dsn) if read else dsn
    if target != dsn:
        pool = open_pool(target, size)
        conn = _live_connection(pool)
        if conn is None:
            replicas.mark_down(dsn, target)  # read the primary until the poller sees it back
        else:
            with pool.connection(conn) as lent:
                yield lent
            return
    with open_pool(dsn, size).connection() as conn:
        yield conn
