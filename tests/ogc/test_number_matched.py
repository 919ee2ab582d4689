"""numberMatched on big tables: an exact count beside the page, within ogc.count_budget_ms.

The demo tables are small at test scale, so `items_page.EXACT_COUNT_MAX_ROWS` is
lowered to make every table "big": every full page then takes the concurrent path.
"""

from __future__ import annotations

import psycopg2
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.ogc import items_page
from gis_server.settings import ExtraCollection
from tests.ogc.conftest import local

CAMERAS = "/ogc/collections/cameras/items"
EVENTS = "/ogc/collections/events/items"


@pytest.fixture()
def all_big(monkeypatch):
    monkeypatch.setattr(items_page, "EXACT_COUNT_MAX_ROWS", -1)


def _first_code_district_box(sql):
    return sql(
        "SELECT ST_XMin(e), ST_YMin(e), (ST_XMin(e) + ST_XMax(e)) / 2, (ST_YMin(e) + ST_YMax(e)) / 2 "
        "FROM (SELECT ST_Extent(ST_Transform(geom, 4326)) e FROM cameras) s"
    )[0]


@pytest.mark.usefixtures("all_big")
def test_cameras_page_counts_like_sql(client, sql):
    total = sql("SELECT count(*) FROM cameras")[0][0]
    assert total > 2
    body = client.get(CAMERAS, params={"limit": 2}).json()
    assert len(body["features"]) == 2
    assert body["numberMatched"] == total


@pytest.mark.usefixtures("all_big")
def test_bbox_page_counts_like_sql(client, sql):
    x0, y0, x1, y1 = _first_code_district_box(sql)
    expected = sql(
        "SELECT count(*) FROM cameras WHERE ST_Intersects(geom, "
        "ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, 4326), ST_SRID(geom)))",
        (x0, y0, x1, y1),
    )[0][0]
    assert expected > 1
    r = client.get(CAMERAS, params={"limit": 1, "bbox": f"{x0},{y0},{x1},{y1}"})
    assert r.json()["numberMatched"] == expected


@pytest.mark.usefixtures("all_big")
def test_events_datetime_and_cql2_counts_like_sql(client, sql):
    lo, hi = sql("SELECT min(created_at), max(created_at) FROM events")[0]
    middle = lo + (hi - lo) / 2
    expected = sql(
        "SELECT count(*) FROM events WHERE created_at <= %s AND status = 'closed'",
        (middle,),
    )[0][0]
    assert expected > 1
    params = {
        "limit": 1,
        "datetime": f"../{middle.isoformat()}",
        "filter": "status = 'closed'",
    }
    body = client.get(EVENTS, params=params).json()
    assert len(body["features"]) == 1
    assert body["numberMatched"] == expected


@pytest.mark.usefixtures("all_big")
def test_cursor_pages_are_counted_too(client, sql):
    total = sql("SELECT count(*) FROM cameras")[0][0]
    first = client.get(CAMERAS, params={"limit": 2}).json()
    nxt = [link["href"] for link in first["links"] if link["rel"] == "next"][0]
    assert "cursor=" in nxt
    second = client.get(local(nxt)).json()
    assert len(second["features"]) == 2
    assert second["numberMatched"] == total


@pytest.fixture(scope="module")
def slow_view(demo_db):
    """A view whose count must generate 2 million rows: it cannot finish in 1 ms."""
    conn = psycopg2.connect(demo_db)
    with conn, conn.cursor() as cur:
        cur.execute(
            "CREATE VIEW ogc_test_many_points AS SELECT g AS gid, "
            "ST_SetSRID(ST_Point(121 + g * 1e-7, 31.9), 4326) AS geom "
            "FROM generate_series(1, 2000000) g"
        )
    yield "ogc_test_many_points"
    with conn, conn.cursor() as cur:
        cur.execute("DROP VIEW ogc_test_many_points")
    conn.close()


def _app(settings, budget_ms, view):
    collection = ExtraCollection(id="many-points", table=view, id_column="gid")
    ogc = settings.ogc.model_copy(update={"count_budget_ms": budget_ms})
    return create_app(settings.model_copy(update={"ogc": ogc, "collections": [collection]}))


@pytest.mark.parametrize("budget_ms", [0, 1])
def test_count_over_budget_is_omitted(ogc_settings, slow_view, budget_ms):
    with TestClient(_app(ogc_settings, budget_ms, slow_view)) as c:
        body = c.get("/ogc/collections/many-points/items", params={"limit": 3}).json()
    assert len(body["features"]) == 3
    assert "numberMatched" not in body


@pytest.mark.usefixtures("all_big")
def test_zero_budget_omits_even_cheap_counts(ogc_settings, slow_view, sql):
    with TestClient(_app(ogc_settings, 0, slow_view)) as c:
        body = c.get(CAMERAS, params={"limit": 2}).json()
        short = c.get(CAMERAS, params={"limit": 10_000}).json()
    assert "numberMatched" not in body
    assert short["numberMatched"] == sql("SELECT count(*) FROM cameras")[0][0]  # free
