"""ETL test fixtures: an own throwaway database (imports truncate tables, which must
not disturb the demo data other test modules load into db_dsn), a CLI runner, and
helpers that write real files in tmp_path."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import psycopg2
import pytest
from click.testing import CliRunner, Result

from gis_server.cli.main import cli
from gis_server.settings import get_settings
from tests.helpers import migrated_database

TABLES = (
    "towns, grids, cameras, events, event_contacts, vehicles, vehicle_positions, "
    "vehicle_tracks, vehicle_trips, river_patrol_zones, import_log, rasters"
)


@pytest.fixture(scope="session")
def etl_dsn(server_dsn: str) -> Iterator[str]:
    with migrated_database(server_dsn, "onemap_etltest") as dsn:
        yield dsn


@pytest.fixture()
def edb(etl_dsn: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection to an emptied ETL test database (autocommit, for reading results)."""
    conn = psycopg2.connect(etl_dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f"TRUNCATE {TABLES} RESTART IDENTITY CASCADE")
    yield conn
    conn.close()


@pytest.fixture()
def run(etl_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Result]:
    """Run `onemap …` in-process against the ETL test database."""
    monkeypatch.setenv("DATABASE_URL", etl_dsn)
    monkeypatch.delenv("ONEMAP_CONFIG", raising=False)

    def invoke(*args: str) -> Result:
        get_settings.cache_clear()
        try:
            return CliRunner().invoke(cli, [str(a) for a in args], catch_exceptions=False)
        finally:
            get_settings.cache_clear()

    yield invoke
    get_settings.cache_clear()


def scalar(conn: psycopg2.extensions.connection, query: str, *params):
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()[0]


def rows(conn: psycopg2.extensions.connection, query: str, *params) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


@pytest.fixture(autouse=True)
def _no_stray_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USER", os.environ.get("USER", "tester"))
