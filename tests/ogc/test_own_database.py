"""onemap serving an existing PostGIS database alone: only a user table, published from config.

The database holds what the migrations make (empty) and one table of the user's;
`builtin_layers: []` switches the registry's layers off and `collections:` publishes
the table, which gets items with numberMatched, CQL2, queryables, tiles and an
extent from its data, and answers writes with 405 and Allow.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import psycopg2
import pytest
from click.testing import CliRunner
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.auth import Role, store
from gis_server.cli.main import cli
from gis_server.settings import DatabaseSettings, ExtraCollection, get_settings
from tests.helpers import migrated_database

PARKS = "/ogc/collections/parks"


@pytest.fixture(scope="module")
def own_dsn(server_dsn) -> Iterator[str]:
    with migrated_database(server_dsn, "onemap_test_own") as dsn:
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute(
                "CREATE TABLE parks (gid serial PRIMARY KEY, name text, area numeric, "
                "opened timestamptz, geom geometry(Point, 4326));"
                "INSERT INTO parks (name, area, opened, geom) SELECT '公园' || i, i * 1.5, "
                "timestamptz '2001-01-01' + i * interval '100 days', "
                "ST_SetSRID(ST_Point(121.30 + i * 0.001, 31.90 + i * 0.0005), 4326) "
                "FROM generate_series(1, 150) i"
            )
        conn.close()
        yield dsn


@pytest.fixture(scope="module")
def own_client(own_dsn, ogc_settings) -> Iterator[TestClient]:
    settings = ogc_settings.model_copy(
        update={
            "database": DatabaseSettings(url=own_dsn),
            "builtin_layers": [],
            "collections": [
                ExtraCollection(id="parks", table="parks", id_column="gid", time_column="opened")
            ],
        }
    )
    with TestClient(create_app(settings)) as c:
        yield c


def _own_sql(dsn, query, params=()):
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall()
    conn.close()
    return rows


def test_only_the_user_table_is_published(own_client):
    body = own_client.get("/ogc/collections").json()
    assert [c["id"] for c in body["collections"]] == ["parks"]
    assert own_client.get("/ogc/collections/cameras").status_code == 404


def test_items_cql2_and_count(own_client, own_dsn):
    expected = _own_sql(own_dsn, "SELECT count(*) FROM parks WHERE area > 30")[0][0]
    body = own_client.get(f"{PARKS}/items", params={"filter": "area > 30", "limit": 5}).json()
    assert len(body["features"]) == 5
    assert body["numberMatched"] == expected
    props = own_client.get(f"{PARKS}/queryables").json()["properties"]
    assert {"name", "area", "opened"} <= set(props)


def test_extent_is_the_tables(own_client, own_dsn):
    box = _own_sql(
        own_dsn,
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) e FROM parks) s",
    )[0]
    extent = own_client.get(PARKS).json()["extent"]
    assert extent["spatial"]["bbox"][0] == pytest.approx(list(box), abs=1e-9)
    lo, hi = _own_sql(own_dsn, "SELECT min(opened), max(opened) FROM parks")[0]
    interval = [s.replace("Z", "+00:00") for s in extent["temporal"]["interval"][0]]
    assert interval == [lo.isoformat(), hi.isoformat()]


def test_tiles_of_the_user_table(own_client):
    z, lon, lat = 12, 121.35, 31.925
    col = int((lon + 180) / 360 * 2**z)
    rad = math.radians(lat)
    row = int((1 - math.log(math.tan(rad) + 1 / math.cos(rad)) / math.pi) / 2 * 2**z)
    r = own_client.get(f"{PARKS}/tiles/WebMercatorQuad/{z}/{row}/{col}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.mapbox-vector-tile")
    assert len(r.content) > 100  # a layer with features, not an empty tile
    empty = own_client.get(f"{PARKS}/tiles/WebMercatorQuad/{z}/{row + 40}/{col}")
    assert empty.status_code in (200, 204) and len(empty.content) < len(r.content)


def test_writes_to_a_read_only_config_collection_are_405_with_allow(own_client, own_dsn):
    with psycopg2.connect(own_dsn) as conn:
        store.add_user(conn, "own-admin", Role.ADMIN, "correct horse battery")
        _, key, _ = store.issue_key(conn, "own-admin", "test")
    conn.close()
    feature = {"type": "Feature", "properties": {"name": "x"}, "geometry": None}
    headers = {"X-API-Key": key, "Content-Type": "application/geo+json"}
    r = own_client.post(f"{PARKS}/items", json=feature, headers=headers)
    assert r.status_code == 405, r.text
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}


def test_config_validate_refuses_an_id_of_a_builtin_layer(monkeypatch, db_dsn):
    monkeypatch.setenv(
        "ONEMAP_COLLECTIONS", '[{"id": "cameras", "table": "parks", "id_column": "gid"}]'
    )
    get_settings.cache_clear()
    try:
        r = CliRunner().invoke(cli, ["config", "validate"])
        assert r.exit_code == 2
        assert "'cameras'" in r.output and "built-in" in r.output
        monkeypatch.setenv("ONEMAP_BUILTIN_LAYERS", '["grids", "events"]')
        get_settings.cache_clear()
        ok = CliRunner().invoke(cli, ["config", "validate"])
        assert ok.exit_code == 0, ok.output
    finally:
        monkeypatch.delenv("ONEMAP_COLLECTIONS")
        monkeypatch.delenv("ONEMAP_BUILTIN_LAYERS", raising=False)
        get_settings.cache_clear()


def test_openapi_documents_the_config_collection_only(own_client):
    doc = own_client.get("/ogc/openapi", params={"f": "json"}).json()
    assert "/collections/parks/items" in doc["paths"]
    assert "get" in doc["paths"]["/collections/parks/items/{featureId}"]
    assert not any(p.startswith("/collections/cameras") for p in doc["paths"])
    props = doc["components"]["schemas"]["parks.Feature"]["properties"]["properties"]
    assert {"name", "area", "opened"} <= set(props["properties"])
