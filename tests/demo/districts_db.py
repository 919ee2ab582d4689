"""A second test database holding a three-district demo (Haimen, 启东, 通州), for the tests of
`--districts` and of the console opened for one district. Import `districts_db` into a test
module to use it; it is created once per session and dropped after."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from layers.migrate import upgrade

DISTRICTS = 3
SCALE = 0.02  # cameras, vehicles, events per district: small, the grids are never scaled
ANCHOR = dt.date(2026, 6, 10)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="session")
def districts_db(server_dsn: str) -> Iterator[str]:
    """DSN of a migrated database with the three-district demo loaded."""
    from etl.demo import load_demo

    name = f"onemap_test_{secrets.token_hex(4)}"
    admin = psycopg2.connect(server_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    dsn = urlunsplit(urlsplit(server_dsn)._replace(path=f"/{name}"))
    try:
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        conn.close()
        upgrade("postgresql+psycopg2://" + dsn.split("://", 1)[1], district_code="320614")
        until = dt.datetime.combine(ANCHOR, dt.time(), SHANGHAI)
        load_demo(dsn, scale=SCALE, anchor=ANCHOR, until=until, districts=DISTRICTS)
        yield dsn
    finally:
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
