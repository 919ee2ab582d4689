"""A pooled cursor for the hot read paths: one round trip per statement.

psycopg2 normally opens a transaction (BEGIN) before the first statement and
the pool rolls it back afterwards: three round trips for one SELECT. The fast
items and tile paths only read, so they run in autocommit; a statement that
needs a local setting sends it in the same string (`SET LOCAL ...; SELECT ...`,
which PostgreSQL runs as one implicit transaction).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg2.errors
import psycopg2.extensions
import psycopg2.pool

from gis_server.database import pooled
from gis_server.errors import DatabaseUnavailable, InvalidParameter
from gis_server.settings import Settings

LOGGER = logging.getLogger(__name__)


@contextmanager
def read_cursor(
    settings: Settings, what: str = "query", text_as_bytes: bool = False
) -> Iterator[Any]:
    """An autocommit cursor; `text_as_bytes` returns text columns as bytes (no decode).

    Database failures become onemap errors as in the provider: a bad value is a
    400, a cancelled or impossible query a 503 (never a 500 for a client's input).
    """
    db = settings.database
    try:
        with pooled(db.dsn, db.pool_size) as conn:
            conn.autocommit = True
            try:
                with conn.cursor() as cur:
                    if text_as_bytes:
                        psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cur)
                    yield cur
            finally:
                if not conn.closed:
                    conn.autocommit = False
    except psycopg2.errors.QueryCanceled:
        raise DatabaseUnavailable(f"{what} took too long, retry later") from None
    except psycopg2.DataError as exc:
        detail = str(exc).strip().splitlines()[0]
        raise InvalidParameter("value", f"invalid value: {detail}") from None
    except ValueError as exc:
        if "NUL" not in str(exc):
            raise
        raise InvalidParameter("value", f"invalid value: {exc}") from None
    except (psycopg2.OperationalError, psycopg2.InterfaceError, psycopg2.pool.PoolError):
        LOGGER.exception("database unavailable during %s", what)
        raise DatabaseUnavailable("database unavailable, retry later") from None
