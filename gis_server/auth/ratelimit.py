"""Failed-login throttling per (username, client), kept in PostGIS so that
every worker process sees the same count.

After `LIMIT` failures within `WINDOW` the pair is refused (429) until the
oldest failure leaves the window. A success clears only its own pair.
"""

from __future__ import annotations

import datetime as dt
import math

from psycopg import Connection

from gis_server.errors import TooManyAttempts

LIMIT = 5
WINDOW = dt.timedelta(minutes=15)


def _lock(conn: Connection, username: str, client: str) -> None:
    """Serialise checks of one pair across workers for the rest of the transaction."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))",
            (f"login:{username}", client),
        )


def check(conn: Connection, username: str, client: str) -> None:
    """Raise TooManyAttempts (with seconds to wait) if the pair is locked out."""
    _lock(conn, username, client)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT count(*), min(at) + %s - clock_timestamp() FROM login_failures "
            "WHERE username = %s AND client = %s AND at > clock_timestamp() - %s",
            (WINDOW, username, client, WINDOW),
        )
        count, wait = cur.fetchone()
    if count >= LIMIT:
        raise TooManyAttempts(math.ceil(wait.total_seconds()) if wait else 1)


def record_failure(conn: Connection, username: str, client: str) -> None:
    with conn.cursor() as cur:
        cur.execute("DELETE FROM login_failures WHERE at <= clock_timestamp() - %s", (WINDOW,))
        cur.execute(
            "INSERT INTO login_failures (username, client) VALUES (%s, %s)", (username, client)
        )


def clear(conn: Connection, username: str, client: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "DELETE FROM login_failures WHERE username = %s AND client = %s", (username, client)
        )
