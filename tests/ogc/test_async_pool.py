"""The hot paths' async pools (ogc/adb.py on psycopg_pool): connections kept on the
loop that opened them, a dead database a DatabaseUnavailable, a killed connection
replaced, and the app's pools on app.state.db."""

from __future__ import annotations

import psycopg2
import pytest

from gis_server.errors import DatabaseUnavailable
from gis_server.ogc import adb
from tests.helpers import run_async


async def _pid(db: adb.AsyncDB) -> int:
    async with db.cursor() as cur:
        await cur.execute("SELECT pg_backend_pid()")
        return (await cur.fetchone())[0]


def test_connections_are_kept_on_the_pools_loop(db_dsn):
    async def run() -> set[int]:
        db = adb.AsyncDB(db_dsn, 2)
        await db.open()
        try:
            return {await _pid(db) for _ in range(5)}
        finally:
            await db.close()

    assert len(run_async(run())) == 1  # one connection, reused


def test_a_dead_database_is_database_unavailable():
    async def run() -> None:
        db = adb.AsyncDB("postgresql://postgres@127.0.0.1:1/nowhere", 2)
        await db.open()
        try:
            for _ in range(2):  # the first finds it down, the second probes first
                with pytest.raises(DatabaseUnavailable):
                    await _pid(db)
        finally:
            await db.close()

    run_async(run())


def test_a_killed_connection_is_replaced(db_dsn, server_dsn):
    async def run() -> tuple[int, int]:
        db = adb.AsyncDB(db_dsn, 2)
        await db.open()
        try:
            pid = await _pid(db)
            admin = psycopg2.connect(server_dsn)
            admin.autocommit = True
            with admin.cursor() as cur:
                cur.execute("SELECT pg_terminate_backend(%s)", (pid,))
            admin.close()
            try:
                await _pid(db)
            except DatabaseUnavailable:
                pass  # the request that meets the dead connection is a 503 …
            return pid, await _pid(db)  # … and the next one gets a fresh connection
        finally:
            await db.close()

    old, new = run_async(run())
    assert new != old


def test_the_apps_pools_are_on_its_state(demo_db, ogc_settings):
    from starlette.testclient import TestClient

    from gis_server.app import create_app
    from gis_server.database import SyncPool

    with TestClient(create_app(ogc_settings)) as client:
        assert client.get("/ogc/collections/grids/items?limit=1").status_code == 200
        state = client.app.state.db
        assert isinstance(state.sync, SyncPool)
        assert state.items is client.app.state.ogc.fast.db
        assert state.tiles is client.app.state.ogc.tile_db
