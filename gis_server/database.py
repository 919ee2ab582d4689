"""Database access for the synchronous request paths and the CLI (psycopg2).

Each database (DSN) gets one pool per process: up to `size` connections,
opened when first needed and kept for the next request. Threads beyond `size`
wait their turn (bounded: a 503 after POOL_WAIT_SECONDS) rather than failing.
psycopg2's own pools keep only `minconn` connections idle and close the rest on
return, which with a lazily filled pool meant one new PostgreSQL connection per
request; hence this small one. The app's lifespan opens and closes it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
from psycopg2 import sql

from gis_server.errors import DatabaseUnavailable

POOL_WAIT_SECONDS = 30.0


def ident(*parts: str) -> sql.Composable:
    """Quote a (possibly schema-qualified) identifier: the one way names enter SQL."""
    names = [p for part in parts for p in part.split(".")]
    return sql.Identifier(*names)


def connect(dsn: str) -> psycopg2.extensions.connection:
    return psycopg2.connect(dsn, application_name="onemap")


class Pool:
    """Up to `size` psycopg2 connections to one database, opened on demand and kept."""

    def __init__(self, dsn: str, size: int):
        self.dsn = dsn
        self.size = size
        self._idle: list[psycopg2.extensions.connection] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """A connection, rolled back and kept (or closed if it broke) afterwards."""
        if not self._slots.acquire(timeout=POOL_WAIT_SECONDS):
            raise DatabaseUnavailable("no database connection free, retry later")
        try:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None or conn.closed:
                try:
                    conn = connect(self.dsn)
                except psycopg2.OperationalError:
                    raise DatabaseUnavailable("database unavailable, retry later") from None
            try:
                yield conn
            finally:
                self._give_back(conn)
        finally:
            self._slots.release()

    def _give_back(self, conn: psycopg2.extensions.connection) -> None:
        try:
            if not conn.closed:
                conn.rollback()
        except psycopg2.Error:
            conn.close()
        if conn.closed:
            return
        with self._lock:
            self._idle.append(conn)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


_pools: dict[str, Pool] = {}
_pools_lock = threading.Lock()


def open_pool(dsn: str, size: int) -> Pool:
    """The process's pool for `dsn` (made on first use; no connection is opened here)."""
    with _pools_lock:
        pool = _pools.get(dsn)
        if pool is None:
            pool = _pools[dsn] = Pool(dsn, size)
        return pool


def close_pool() -> None:
    """Close every pool's idle connections (the app's shutdown, a test session's end)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


@contextmanager
def pooled(dsn: str, size: int = 8) -> Iterator[psycopg2.extensions.connection]:
    """A connection from this process's pool for `dsn`; rolled back and returned afterwards."""
    with open_pool(dsn, size).connection() as conn:
        yield conn
