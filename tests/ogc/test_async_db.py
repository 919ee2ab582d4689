"""The hot paths' async driver (ogc/adb.py): same statements, same bytes as psycopg2.

Items, features and tiles are built by the psycopg 3 `sql` builders and run through
psycopg 3 on the event loop; these tests check it gives byte-identical results to
psycopg2 running the same statement text (the driver the server used before), the per-collection statement reuse, the tile cache and
the error mapping.
"""

from __future__ import annotations

import datetime as dt
import math

import psycopg2
import psycopg2.extensions
import pytest
from psycopg import sql

from gis_server.errors import InvalidParameter
from gis_server.ogc import adb, caching, crs
from gis_server.ogc.query import ItemsQuery
from gis_server.ogc.sql import Binds, features_sql, item_sql
from gis_server.ogc.tiles import mvt, tms
from gis_server.ogc.tiles.answer import tile_layer
from gis_server.ogc.tiles.cache import TileCache
from tests.helpers import run_async

GRID = "/ogc/collections/grids/items"


def _both(dsn: str, statement: sql.Composable, values: dict) -> tuple[list, list]:
    """(psycopg2 rows, psycopg 3 rows) of one statement, text and bytea as bytes."""
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cur)
        cur.execute(statement.as_string(None), values)
        old = [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in cur]
    conn.close()

    async def run() -> list:
        db = adb.AsyncDB(dsn, 2)
        await db.open()
        try:
            async with db.cursor(text_as_bytes=True) as cur:
                await adb.execute(cur, statement, values)
                return [tuple(r) for r in await cur.fetchall()]
        finally:
            await db.close()

    return old, run_async(run())


def test_feature_pages_identical_bytes(client, demo_db):
    source = client.app.state.ogc.source("events")
    binds = Binds()
    q = ItemsQuery(
        limit=20,
        offset=3,
        bbox=(121.0, 31.0, 122.0, 32.5),
        time=None,
        equals=((source.column("category"), "环境卫生"),),
        sortby=(("created_at", False),),
    )
    old, new = _both(demo_db, features_sql(source, q, binds), binds.values)
    assert old and old == new


def test_feature_by_id_identical_bytes(client, demo_db, sql):
    source = client.app.state.ogc.source("grids")
    (code,) = sql("SELECT code FROM grids WHERE valid_to IS NULL ORDER BY code LIMIT 1")[0]
    for out in (crs.CRS84, crs.by_uri("http://www.opengis.net/def/crs/EPSG/0/4490")):
        binds = Binds()
        old, new = _both(demo_db, item_sql(source, code, out, binds), binds.values)
        assert len(old) == 1 and old == new


def test_tile_identical_bytes(client, demo_db):
    ogc = client.app.state.ogc
    quad = tms.get("WebMercatorQuad")
    built = []
    for cid, points in (("grids", False), ("cameras", True)):
        source = ogc.source(cid)
        lon, lat = 121.35, 31.83
        for z in (10, 12, 14):
            n = 2**z
            col = int((lon + 180) / 360 * n)
            row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
            layer = mvt.TileLayer(source, points, tile_layer(source, 0).light_columns, 20_000)
            statement = mvt.tile_statement(layer, quad, layer.kind(z))
            values = mvt.tile_values(layer, quad, z, row, col)
            old, new = _both(demo_db, statement, values)
            assert old == new
            built.append(old[0][0])
    assert sum(1 for tile in built if tile) >= 4  # most of them have features


def test_feature_route_reuses_its_statement(client, sql):
    """The second request of a collection runs the kept statement text: same body."""
    codes = [
        r[0] for r in sql("SELECT code FROM grids WHERE valid_to IS NULL ORDER BY code LIMIT 2")
    ]
    first = client.get(f"{GRID}/{codes[0]}?f=json")
    second = client.get(f"{GRID}/{codes[1]}?f=json")
    again = client.get(f"{GRID}/{codes[0]}?f=json")
    assert first.status_code == second.status_code == again.status_code == 200
    assert first.json()["id"] == codes[0] and second.json()["id"] == codes[1]
    assert first.content == again.content
    assert client.get(f"{GRID}/{codes[0]}x?f=json").status_code == 404


def test_bad_values_are_400_not_500(demo_db):
    async def run(value: str, cast: str) -> None:
        db = adb.AsyncDB(demo_db, 1)
        await db.open()
        try:
            async with db.cursor() as cur:
                statement = sql.SQL("SELECT {}::" + cast).format(sql.Placeholder("p0"))
                await adb.execute(cur, statement, {"p0": value})
        finally:
            await db.close()

    for value, cast in (("a\x00b", "text"), ("not a time", "timestamptz")):
        with pytest.raises(InvalidParameter):
            run_async(run(value, cast))


def test_tile_cache_keeps_one_version():
    change = caching.Change(1, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    newer = caching.Change(2, dt.datetime(2026, 1, 2, tzinfo=dt.UTC))
    cache = TileCache(100)
    cache.put(("grids", 1), change, b"x" * 5)
    assert cache.get(("grids", 1), change) == b"x" * 5
    assert cache.get(("grids", 1), newer) is None  # the layer changed: rebuilt
    assert cache.get(("grids", 1), change) is None  # and the old one is gone
    cache.put(("grids", 2), None, b"y")  # no change counter: never kept
    assert cache.get(("grids", 2), None) is None
    for i in range(30):  # bounded in bytes, least recently used first
        cache.put(("cameras", i), change, b"z" * 6)
    assert cache._bytes <= 100
    assert cache.get(("cameras", 29), change) == b"z" * 6
    assert cache.get(("cameras", 0), change) is None


def test_tile_cache_off():
    change = caching.Change(1, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    cache = TileCache(0)  # ogc.tile_cache_mb: 0
    cache.put(("grids", 1), change, b"")
    cache.put(("grids", 2), change, b"x")
    assert cache.get(("grids", 1), change) is None and cache.get(("grids", 2), change) is None


def test_a_query_past_a_database_limit_is_the_requests_fault(demo_db):
    """PostgreSQL files "program limit exceeded" under operational errors: still a 400."""

    async def run() -> None:
        db = adb.AsyncDB(demo_db, 1)
        await db.open()
        try:
            async with db.cursor() as cur:  # a function takes at most 100 arguments
                args = sql.SQL(", ").join(sql.Literal(i) for i in range(200))
                await adb.execute(cur, sql.SQL("SELECT concat({})").format(args), {})
        finally:
            await db.close()

    with pytest.raises(InvalidParameter) as raised:
        run_async(run())
    assert raised.value.parameter == "request"
