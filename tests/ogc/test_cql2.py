"""OGC API Features Part 3: CQL2 text and JSON filters, counted against equivalent SQL."""

from __future__ import annotations

import json

import pytest

from tests.ogc.conftest import walk

POLY = "POLYGON((121.2 31.8, 121.4 31.8, 121.4 32.0, 121.2 32.0, 121.2 31.8))"
POLY_SQL = (
    "ST_GeomFromText('POLYGON((121.2 31.8, 121.4 31.8, 121.4 32.0, 121.2 32.0, 121.2 31.8))', 4326)"
)
T1, T2 = "2026-03-01T00:00:00Z", "2026-06-01T00:00:00+08:00"

CASES = [
    ("events", "status = 'closed'", "status = 'closed'"),
    ("events", "status <> 'closed' AND priority IN ('urgent', 'critical')",
     "status <> 'closed' AND priority IN ('urgent', 'critical')"),
    ("events", "title LIKE '%停车%'", "title LIKE '%%停车%%'"),
    ("events", "casei(source) = casei('WeChat')", "lower(source) = 'wechat'"),
    ("events", "closed_at IS NULL", "closed_at IS NULL"),
    ("events", "closed_at IS NOT NULL OR NOT (priority = 'normal')",
     "closed_at IS NOT NULL OR NOT (priority = 'normal')"),
    ("grids", "population BETWEEN 1000 AND 3000", "valid_to IS NULL AND population BETWEEN 1000 AND 3000"),
    ("grids", "population > 2 * households", "valid_to IS NULL AND population > 2 * households"),
    ("events", f"S_INTERSECTS(geometry, {POLY})", f"ST_Intersects(geom, {POLY_SQL})"),
    ("events", "S_WITHIN(geometry, BBOX(121.2, 31.8, 121.4, 32.0))",
     "ST_Within(geom, ST_MakeEnvelope(121.2, 31.8, 121.4, 32.0, 4326))"),
    ("grids", "S_CONTAINS(geometry, POINT(121.3 31.9))",
     "valid_to IS NULL AND ST_Contains(geom, ST_SetSRID(ST_Point(121.3, 31.9), 4326))"),
    ("events", "S_DWITHIN(geometry, POINT(121.3 31.9), 3000, meters)",
     "ST_DWithin(geom::geography, ST_SetSRID(ST_Point(121.3, 31.9), 4326)::geography, 3000)"),
    ("events", f"T_AFTER(created_at, TIMESTAMP('{T1}'))", f"created_at > '{T1}'"),
    ("events", f"T_BEFORE(created_at, TIMESTAMP('{T1}'))", f"created_at < '{T1}'"),
    ("events", f"T_DURING(created_at, INTERVAL('{T1}', '{T2}'))",
     f"created_at > '{T1}' AND created_at < '{T2}'"),
    ("events", f"T_INTERSECTS(created_at, INTERVAL('{T1}', '..'))", f"created_at >= '{T1}'"),
    ("events", f"created_at >= TIMESTAMP('{T1}') AND status = 'closed'",
     f"created_at >= '{T1}' AND status = 'closed'"),
    ("grids", f"T_INTERSECTS(INTERVAL(valid_from, valid_to), TIMESTAMP('{T1}'))",
     f"valid_to IS NULL AND valid_from <= '{T1}'"),
]  # fmt: skip


@pytest.mark.parametrize("collection, cql, where", CASES, ids=[c[1][:40] for c in CASES])
def test_cql2_text_matches_sql(client, sql, collection, cql, where):
    expected = sql(f"SELECT count(*) FROM {collection} WHERE {where}")[0][0]
    r = client.get(
        f"/ogc/collections/{collection}/items",
        params={"filter": cql, "filter-lang": "cql2-text", "resulttype": "hits"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == expected


JSON_CASES = [
    ("events", {"op": "=", "args": [{"property": "status"}, "closed"]}, "status = 'closed'"),
    ("grids", {"op": "between", "args": [{"property": "population"}, 1000, 3000]},
     "valid_to IS NULL AND population BETWEEN 1000 AND 3000"),
    ("events", {"op": "s_intersects", "args": [{"property": "geometry"}, {"bbox": [121.2, 31.8, 121.4, 32.0]}]},
     "ST_Intersects(geom, ST_MakeEnvelope(121.2, 31.8, 121.4, 32.0, 4326))"),
    ("events", {"op": "and", "args": [
        {"op": "t_intersects", "args": [{"property": "created_at"}, {"interval": [T1, ".."]}]},
        {"op": "in", "args": [{"property": "priority"}, ["urgent", "critical"]]}]},
     f"created_at >= '{T1}' AND priority IN ('urgent', 'critical')"),
    ("events", {"op": "isNull", "args": [{"property": "closed_at"}]}, "closed_at IS NULL"),
]  # fmt: skip


@pytest.mark.parametrize("collection, cql, where", JSON_CASES, ids=[c[2][:40] for c in JSON_CASES])
def test_cql2_json_matches_sql(client, sql, collection, cql, where):
    expected = sql(f"SELECT count(*) FROM {collection} WHERE {where}")[0][0]
    r = client.get(
        f"/ogc/collections/{collection}/items",
        params={"filter": json.dumps(cql), "filter-lang": "cql2-json", "resulttype": "hits"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == expected


def test_filter_survives_paging(client, sql):
    expected = {
        r[0] for r in sql("SELECT code FROM events WHERE status = 'closed' AND priority = 'urgent'")
    }
    cql = json.dumps({"op": "and", "args": [
        {"op": "=", "args": [{"property": "status"}, "closed"]},
        {"op": "=", "args": [{"property": "priority"}, "urgent"]}]})  # fmt: skip
    url = f"/ogc/collections/events/items?limit=100&skipGeometry=true&filter-lang=cql2-json&filter={cql}"
    feats = walk(client, url)
    assert len(feats) == len(expected) and {f["id"] for f in feats} == expected


def test_filter_crs_lat_first(client, sql):
    expected = sql(
        "SELECT count(*) FROM events WHERE ST_Intersects(geom, "
        "ST_MakeEnvelope(121.2, 31.8, 121.4, 32.0, 4326))"
    )[0][0]
    r = client.get(
        "/ogc/collections/events/items",
        params={
            "filter": "S_INTERSECTS(geometry, BBOX(31.8, 121.2, 32.0, 121.4))",
            "filter-crs": "http://www.opengis.net/def/crs/EPSG/0/4326",
            "resulttype": "hits",
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["numberMatched"] == expected
