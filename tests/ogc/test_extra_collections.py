"""settings.collections: any PostGIS table or view is published with the same provider."""

from __future__ import annotations

import psycopg2
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.settings import ExtraCollection


@pytest.fixture(scope="module")
def extra_client(demo_db, ogc_settings):
    conn = psycopg2.connect(demo_db)
    with conn, conn.cursor() as cur:
        cur.execute(
            "CREATE TABLE ogc_test_schools (gid serial PRIMARY KEY, name text, pupils integer, "
            "opened_at timestamptz, geom geometry(Point, 3857));"
            "INSERT INTO ogc_test_schools (name, pupils, opened_at, geom) "
            "SELECT '学校' || i, i * 100, timestamptz '2020-01-01' + i * interval '30 days', "
            "ST_Transform(ST_SetSRID(ST_Point(121.1 + i * 0.01, 31.8 + i * 0.01), 4326), 3857) "
            "FROM generate_series(1, 40) i;"
            "CREATE VIEW ogc_test_big_schools AS SELECT gid, name, pupils, geom "
            "FROM ogc_test_schools WHERE pupils >= 2000;"
        )
    settings = ogc_settings.model_copy(
        update={
            "collections": [
                ExtraCollection(
                    id="schools", table="public.ogc_test_schools", id_column="gid",
                    time_column="opened_at", title="学校 Schools", description="测试 test",
                ),
                ExtraCollection(id="big-schools", table="ogc_test_big_schools", id_column="gid"),
            ]
        }
    )  # fmt: skip
    try:
        with TestClient(create_app(settings)) as c:
            yield c
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("DROP VIEW ogc_test_big_schools; DROP TABLE ogc_test_schools")
        conn.close()


def test_extra_collections_are_listed_with_introspected_queryables(extra_client):
    ids = {c["id"] for c in extra_client.get("/ogc/collections").json()["collections"]}
    assert {"schools", "big-schools", "grids"} <= ids
    props = extra_client.get("/ogc/collections/schools/queryables").json()["properties"]
    assert props["pupils"]["type"] == "integer"
    assert props["opened_at"]["format"] == "date-time"
    assert "geom" not in props


def test_extra_collection_items_filters_and_crs(extra_client, sql):
    base = "/ogc/collections/schools/items"
    body = extra_client.get(base, params={"limit": 100}).json()
    assert body["numberMatched"] == 40 == len(body["features"])
    x, y = sql("SELECT ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) "
               "FROM ogc_test_schools WHERE gid = 5")[0]  # fmt: skip
    one = extra_client.get(f"{base}/5").json()
    assert one["geometry"]["coordinates"] == pytest.approx([x, y], abs=1e-8)
    merc = extra_client.get(f"{base}/5", params={"crs": "EPSG:3857"}).json()
    mx, my = sql("SELECT ST_X(geom), ST_Y(geom) FROM ogc_test_schools WHERE gid = 5")[0]
    assert merc["geometry"]["coordinates"] == pytest.approx([mx, my], abs=1e-3)
    expected = sql(
        "SELECT count(*) FROM ogc_test_schools WHERE pupils > 1500 AND opened_at >= '2021-01-01' "
        "AND ST_Intersects(geom, ST_Transform(ST_MakeEnvelope(121, 31.7, 121.4, 32, 4326), 3857))"
    )[0][0]
    r = extra_client.get(
        base,
        params={"filter": "pupils > 1500", "datetime": "2021-01-01T00:00:00Z/..",
                "bbox": "121,31.7,121.4,32", "resulttype": "hits"},
    )  # fmt: skip
    assert r.status_code == 200, r.text
    assert 0 < r.json()["numberMatched"] == expected
    assert extra_client.get(f"{base}/notanumber").status_code == 404


def test_extra_view_without_time(extra_client, sql):
    base = "/ogc/collections/big-schools/items"
    feats = extra_client.get(base, params={"limit": 3, "sortby": "-pupils"}).json()["features"]
    top = sql("SELECT gid FROM ogc_test_big_schools ORDER BY pupils DESC LIMIT 3")
    assert [f["id"] for f in feats] == [r[0] for r in top]
    # OGC /req/core/fc-time-response: no time property, so datetime keeps every feature
    r = extra_client.get(base, params={"datetime": "2021-01-01T00:00:00Z", "limit": 100})
    total = sql("SELECT count(*) FROM ogc_test_big_schools")[0][0]
    assert r.status_code == 200 and len(r.json()["features"]) == total
    r = extra_client.get(base, params={"datetime": "not-a-time"})
    assert r.status_code == 400 and "datetime" in r.json()["description"]


def test_extra_collection_is_read_only(extra_client):
    r = extra_client.options("/ogc/collections/schools/items")
    assert r.status_code in (200, 204), r.text
    assert {m.strip() for m in r.headers["allow"].split(",")} == {"GET", "HEAD", "OPTIONS"}
