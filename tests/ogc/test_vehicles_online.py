"""The OGC `vehicles` collection's `online` property: a fix within feed.offline_after_s,
computed when read (never stored), filterable (`?online=`, CQL2), sortable, listed in the
queryables and documented read-only in the OpenAPI schema; cached answers turn over with
the clock."""

from __future__ import annotations

import datetime as dt

import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.ogc import caching
from gis_server.settings import Settings

CODES = {"TONL-NOW": "1 minute", "TONL-HOUR": "1 hour", "TONL-NEVER": None}


@pytest.fixture(scope="module")
def vehicles(sql):
    for code, ago in CODES.items():
        sql(
            "INSERT INTO vehicles (code, plate, kind, last_fix_at, geom) VALUES (%s, %s, "
            "'fishing_boat', now() - %s::interval, CASE WHEN %s::interval IS NULL THEN NULL "
            "ELSE ST_Point(121.3, 31.8, 4326) END) RETURNING code",
            (code, code, ago, ago),
        )
    yield list(CODES)
    sql("DELETE FROM vehicles WHERE code LIKE 'TONL-%%' RETURNING code")


def online_of(client: TestClient, **params: str) -> dict[str, bool]:
    r = client.get(
        "/ogc/collections/vehicles/items", params={"f": "json", "limit": "100", **params}
    )
    assert r.status_code == 200, r.text
    return {f["properties"]["code"]: f["properties"]["online"] for f in r.json()["features"]}


def test_online_is_a_fix_within_offline_after_s(client, vehicles):
    got = online_of(client, filter="code LIKE 'TONL-%'")
    assert got == {"TONL-NOW": True, "TONL-HOUR": False, "TONL-NEVER": False}
    r = client.get("/ogc/collections/vehicles/items/TONL-NOW", params={"f": "json"})
    assert r.json()["properties"]["online"] is True


def test_online_is_queryable_and_sortable(client, vehicles):
    assert online_of(client, online="true", kind="fishing_boat", filter="code LIKE 'TONL-%'") == {
        "TONL-NOW": True
    }
    assert set(online_of(client, filter="online = false AND code LIKE 'TONL-%'")) == {
        "TONL-HOUR",
        "TONL-NEVER",
    }
    r = client.get("/ogc/collections/vehicles/items",
                   params={"f": "json", "filter": "code LIKE 'TONL-%'", "sortby": "-online,code"})  # fmt: skip
    assert [f["id"] for f in r.json()["features"]][0] == "TONL-NOW"
    r = client.get("/ogc/collections/vehicles/items", params={"online": "maybe"})
    assert r.status_code == 400 and "online" in r.text
    q = client.get("/ogc/collections/vehicles/queryables", params={"f": "json"}).json()
    assert q["properties"]["online"]["type"] == "boolean"


def test_online_is_documented_read_only(client):
    doc = client.get("/ogc/openapi", params={"f": "json"}).json()
    feature = doc["components"]["schemas"]["vehicles.Feature"]
    online = feature["properties"]["properties"]["properties"]["online"]
    assert online["type"] == "boolean" and online["readOnly"] is True
    assert "offline_after_s" in online["description"]


def test_the_threshold_is_feed_offline_after_s(ogc_settings, vehicles):
    settings = Settings(**{**ogc_settings.model_dump(), "feed": {"offline_after_s": 7200}})
    with TestClient(create_app(settings)) as c:
        got = online_of(c, filter="code LIKE 'TONL-%'")
    assert got == {"TONL-NOW": True, "TONL-HOUR": True, "TONL-NEVER": False}


def test_validators_turn_over_with_the_clock():
    old = caching.Change(7, dt.datetime(2020, 1, 1, tzinfo=dt.UTC))
    ticked = caching.clocked(old, 10)
    assert ticked.version == 7 and ticked.changed_at > old.changed_at
    assert ticked.changed_at.timestamp() % 10 == 0
    fresh = caching.Change(8, dt.datetime.now(dt.UTC) + dt.timedelta(hours=1))
    assert caching.clocked(fresh, 10) is fresh and caching.clocked(old, 0) is old


def test_export_leaves_derived_properties_out(demo_db, vehicles):
    from etl.export import fetch

    frame = fetch(demo_db, "vehicles")
    assert "online" not in frame.columns and "TONL-NOW" in set(frame["code"])
