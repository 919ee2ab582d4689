"""Session fixtures: a throwaway PostGIS database per test session (after tipg's conftest).

The server is the one DATABASE_URL names, or the project's private cluster
(started here if needed). A database `onemap_test_<random>` is created,
migrated, loaded with the demo dataset at test scale and dropped at the end.

ONEMAP_TEST_SCALE (default 0.1) scales cameras, vehicles, fixes and events of
the demo dataset; grid counts are never scaled.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import shutil
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import psycopg2
import pytest

from gis_server.cluster import Cluster
from gis_server.settings import PROJECT_DIR, get_settings, load_settings
from layers.migrate import upgrade

SHANGHAI = ZoneInfo("Asia/Shanghai")

TEST_SCALE = float(os.environ.get("ONEMAP_TEST_SCALE", "0.1"))
ARTIFACTS = PROJECT_DIR / "test-artifacts"


def _with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


# Tests that leave rows in the shared demo database (events submitted and resolved in
# the browser, live fixes for demo vehicles, the replay's vehicles and events of 2031)
# run after every other test, so tests asserting on the demo as loaded (tests/demo,
# counts, date ranges of events) see it pristine. Better still: clean up after oneself.
WRITES_SHARED_DEMO = (
    "test_dispatch_panel.py",
    "test_mobile.py",
    "test_live_vehicles.py",
    "test_replay.py",
    "test_replay_api.py",
)


def pytest_collection_modifyitems(session, config, items) -> None:  # noqa: ANN001
    items.sort(key=lambda item: item.path.name in WRITES_SHARED_DEMO)  # stable: order kept


@pytest.fixture(scope="session")
def server_dsn() -> str:
    """DSN of the maintenance database on the PostGIS server the tests use."""
    settings = load_settings()
    if settings.database.uses_private_cluster:
        Cluster(settings.database.cluster).up()
    return _with_database(settings.database.dsn, "postgres")


@pytest.fixture(scope="session")
def db_dsn(server_dsn: str) -> Iterator[str]:
    """A freshly created and migrated database, dropped after the session."""
    name = f"onemap_test_{secrets.token_hex(4)}"
    admin = psycopg2.connect(server_dsn)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    dsn = _with_database(server_dsn, name)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    conn.close()
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = dsn
    get_settings.cache_clear()
    upgrade(get_settings().database.sqlalchemy_url, district_code=get_settings().district.code)
    try:
        yield dsn
    finally:
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        get_settings.cache_clear()
        from gis_server import database

        database.close_pool()
        with admin.cursor() as cur:
            cur.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


@pytest.fixture(scope="session")
def demo_db(db_dsn: str) -> str:
    """The test database with the demo dataset loaded (at TEST_SCALE)."""
    from etl.demo import load_demo

    demo = get_settings().demo
    anchor = demo.anchor_date or dt.datetime.now(SHANGHAI).date()
    # The fleet's fixes end at the anchor day's midnight: every test sees the same fleet at
    # any hour (with the anchor day's shifts loaded, at 03:00 every vehicle's last fix lay
    # hours ahead, so nothing could be simulated or seen going online), all of it in the past.
    until = dt.datetime.combine(anchor, dt.time(), SHANGHAI)
    load_demo(db_dsn, scale=TEST_SCALE, seed=demo.seed, anchor=anchor, until=until)
    return db_dsn


@pytest.fixture()
def db(db_dsn: str) -> Iterator[psycopg2.extensions.connection]:
    """A connection to the test database, rolled back after the test."""
    conn = psycopg2.connect(db_dsn)
    try:
        yield conn
    finally:
        conn.rollback()
        conn.close()


@pytest.fixture(scope="session")
def live_server(demo_db: str) -> Iterator[str]:
    """A real `onemap serve` process on a free loopback port; yields its base URL."""
    from tests.helpers import onemap_serve

    with onemap_serve({"DATABASE_URL": demo_db}, "live_server.log") as (base, _port):
        yield base


CHROMIUM = os.environ.get("ONEMAP_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """One headless Chromium (Debian's) for the whole session.

    Playwright's sync API keeps an event loop running in the main thread while
    it is open, so there must be exactly one, shared by every browser test.
    """
    sync_api = pytest.importorskip("playwright.sync_api")
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    # launch() gives every run a fresh temporary profile (Playwright refuses --user-data-dir).
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()
