"""Database access: one psycopg2 pool per process, opened and closed by the app lifespan."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions
from psycopg2 import sql
from psycopg2.pool import ThreadedConnectionPool

_pool: ThreadedConnectionPool | None = None
_slots: threading.BoundedSemaphore | None = None  # waiters queue here instead of PoolError
POOL_WAIT_SECONDS = 30.0


def ident(*parts: str) -> sql.Composable:
    """Quote a (possibly schema-qualified) identifier: the one way names enter SQL."""
    names = [p for part in parts for p in part.split(".")]
    return sql.Identifier(*names)


def connect(dsn: str) -> psycopg2.extensions.connection:
    conn = psycopg2.connect(dsn, application_name="onemap")
    return conn


def open_pool(dsn: str, size: int) -> ThreadedConnectionPool:
    global _pool, _slots
    if _pool is None:
        _pool = ThreadedConnectionPool(1, size, dsn, application_name="onemap")
        # psycopg2 closes every returned connection beyond `minconn`: with minconn 1, each
        # request over one at a time opened a new PostgreSQL connection. Keep up to `size`.
        _pool.minconn = size
        _slots = threading.BoundedSemaphore(size)
    return _pool


def close_pool() -> None:
    global _pool
    if _pool is not None:
        _pool.closeall()
        _pool = None


@contextmanager
def pooled(dsn: str, size: int = 8) -> Iterator[psycopg2.extensions.connection]:
    """A connection from the process pool; rolled back and returned afterwards.

    More threads than connections (the server's thread pool is larger) wait for
    a free one rather than failing with psycopg2's "connection pool exhausted".
    """
    pool = open_pool(dsn, size)
    slots = _slots
    if slots is not None and not slots.acquire(timeout=POOL_WAIT_SECONDS):
        raise psycopg2.pool.PoolError("no database connection free for 30 s")
    try:
        conn = pool.getconn()
        try:
            yield conn
            conn.rollback()
        except BaseException:
            conn.rollback()
            raise
        finally:
            pool.putconn(conn)
    finally:
        if slots is not None:
            slots.release()
