"""Items: media type, paging, bbox, datetime, property filters, sortby, single features.

Every expectation is derived from SQL on the same database.
"""

from __future__ import annotations

import datetime as dt

import psycopg2
import pytest

from tests.ogc.conftest import walk

GRIDS = "/ogc/collections/grids/items"
EVENTS = "/ogc/collections/events/items"


def hits(client, url: str, **params) -> int:
    r = client.get(url, params={**params, "resulttype": "hits"})
    assert r.status_code == 200, r.text
    return r.json()["numberMatched"]


def test_items_are_geojson(client):
    r = client.get(GRIDS, params={"limit": 3})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["numberReturned"] == 3
    f = body["features"][0]
    assert f["type"] == "Feature" and f["geometry"]["type"] == "MultiPolygon"
    assert f["id"] == f["properties"]["code"]


def test_paging_through_all_grids_returns_each_current_grid_once(client, sql):
    features = walk(client, f"{GRIDS}?limit=97")
    codes = [f["id"] for f in features]
    expected = sql("SELECT code FROM grids WHERE valid_to IS NULL")
    assert len(codes) == len(set(codes)) == len(expected)
    assert set(codes) == {r[0] for r in expected}


def test_number_matched_is_exact_for_grids(client, sql):
    body = client.get(GRIDS, params={"limit": 10}).json()
    assert body["numberMatched"] == sql("SELECT count(*) FROM grids WHERE valid_to IS NULL")[0][0]


def test_limit_above_maximum_is_clamped(client, ogc_settings):
    r = client.get(EVENTS, params={"limit": ogc_settings.ogc.max_limit + 5, "skipGeometry": "true"})
    assert r.status_code == 200
    assert r.json()["numberReturned"] <= ogc_settings.ogc.max_limit


@pytest.mark.parametrize(
    "bbox",
    ["121.2,31.8,121.4,32.0", "121.2,31.8,-10,121.4,32.0,10", "121.0,31.7,121.1,31.75"],
)
def test_bbox_4_and_6_numbers(client, sql, bbox):
    nums = [float(v) for v in bbox.split(",")]
    box = nums if len(nums) == 4 else [nums[0], nums[1], nums[3], nums[4]]
    expected = sql(
        "SELECT count(*) FROM events WHERE ST_Intersects(geom, ST_MakeEnvelope(%s,%s,%s,%s,4326))",
        tuple(box),
    )[0][0]
    assert hits(client, EVENTS, bbox=bbox) == expected
    feats = walk(client, f"{EVENTS}?bbox={bbox}&limit=5000&skipGeometry=true")
    assert len(feats) == expected


def _event_time(sql) -> dt.datetime:
    return sql("SELECT created_at FROM events ORDER BY code LIMIT 1 OFFSET 7")[0][0]


def test_datetime_instant_on_events(client, sql):
    t = _event_time(sql)
    expected = sql("SELECT count(*) FROM events WHERE created_at = %s", (t,))[0][0]
    assert expected >= 1
    assert hits(client, EVENTS, datetime=t.isoformat()) == expected


@pytest.mark.parametrize(
    "form, where",
    [
        ("{a}/{b}", "created_at >= %(a)s AND created_at <= %(b)s"),
        ("../{b}", "created_at <= %(b)s"),
        ("{a}/..", "created_at >= %(a)s"),
        ("{a}/", "created_at >= %(a)s"),
    ],
)
def test_datetime_intervals_on_events(client, sql, form, where):
    lo, hi = sql("SELECT min(created_at), max(created_at) FROM events")[0]
    a = lo + (hi - lo) / 3
    b = lo + (hi - lo) / 2
    expected = sql(f"SELECT count(*) FROM events WHERE {where}", {"a": a, "b": b})[0][0]
    value = form.format(a=a.isoformat(), b=b.isoformat())
    assert 0 < hits(client, EVENTS, datetime=value) == expected


def test_datetime_date_is_the_whole_utc_day(client, sql):
    day = _event_time(sql).astimezone(dt.UTC).date()
    expected = sql(
        "SELECT count(*) FROM events WHERE created_at >= %s AND created_at < %s",
        (
            dt.datetime.combine(day, dt.time(), dt.UTC),
            dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC),
        ),
    )[0][0]
    assert 0 < hits(client, EVENTS, datetime=day.isoformat()) == expected


def test_datetime_of_the_first_day_and_outside_the_data_is_not_refused(client, sql):
    """pygeoapi refused (400 "out of range") a date whose midnight is before the first
    event and any window outside the measured extent; both are answers, the second empty."""
    # describing the collection measures its extent (and hands it to pygeoapi)
    assert client.get("/ogc/collections/events").json()["extent"]["temporal"]["interval"][0][0]
    first = sql("SELECT min(created_at) FROM events")[0][0].astimezone(dt.UTC)
    day = first.date()
    expected = sql(
        "SELECT count(*) FROM events WHERE created_at < %s",
        (dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC),),
    )[0][0]
    assert 0 < hits(client, EVENTS, datetime=day.isoformat()) == expected
    before = "2001-01-01T00:00:00Z/2001-12-31T00:00:00Z"
    assert hits(client, EVENTS, datetime=before) == 0
    assert hits(client, EVENTS, datetime="2001-06-01") == 0
    page = client.get(EVENTS, params={"datetime": before, "f": "html"})
    assert page.status_code == 200, page.text
    body = client.get(EVENTS, params={"datetime": before, "limit": 5}).json()
    assert body["numberReturned"] == 0 and body["features"] == []


@pytest.fixture(scope="module")
def grid_history(demo_db):
    """Closed earlier versions of three grids (removed afterwards): the layout of 2019."""
    conn = psycopg2.connect(demo_db)
    with conn, conn.cursor() as cur:
        cur.execute(
            "INSERT INTO grids (code, name, town_code, grid_type, population, version, "
            "valid_from, valid_to, geom) "
            "SELECT code, name || '(旧)', town_code, grid_type, population, version + 100, "
            "'2019-01-01T00:00:00Z', '2019-12-31T00:00:00Z', geom "
            "FROM grids WHERE valid_to IS NULL ORDER BY code LIMIT 3 RETURNING code"
        )
        codes = [r[0] for r in cur.fetchall()]
    yield codes
    with conn, conn.cursor() as cur:
        cur.execute("DELETE FROM grids WHERE version > 100")
    conn.close()


def test_grids_without_datetime_are_the_current_layout(client, sql, grid_history):
    feats = walk(client, f"{GRIDS}?limit=1000&skipGeometry=true")
    assert len(feats) == sql("SELECT count(*) FROM grids WHERE valid_to IS NULL")[0][0]
    assert not any(f["properties"]["name"].endswith("(旧)") for f in feats)


@pytest.mark.parametrize(
    "value",
    [
        "2019-06-01T00:00:00Z",
        "2019-06-01T00:00:00Z/..",
        "../2019-06-01T00:00:00Z",
        "2019-01-01T00:00:00Z/2019-03-01T00:00:00Z",
        "2021-01-01T00:00:00Z",
    ],
)
def test_grids_datetime_is_the_layout_in_force(client, sql, grid_history, value):
    start, _, end = value.partition("/")
    lo = None if start in ("", "..") else start
    hi = start if "/" not in value else (None if end in ("", "..") else end)
    where = ["TRUE"]
    if hi is not None:
        where.append("valid_from <= %(hi)s")
    if lo is not None:
        where.append("(valid_to IS NULL OR valid_to > %(lo)s)")
    expected = sql(
        f"SELECT code, version FROM grids WHERE {' AND '.join(where)}", {"lo": lo, "hi": hi}
    )
    feats = walk(client, f"{GRIDS}?limit=1000&skipGeometry=true&datetime={value}")
    assert sorted((f["id"], f["properties"]["version"]) for f in feats) == sorted(expected)
    if value == "2019-06-01T00:00:00Z":
        assert {f["id"] for f in feats} == set(grid_history)


def test_property_filter_is_typed(client, sql):
    expected = sql("SELECT count(*) FROM events WHERE status = 'closed'")[0][0]
    assert hits(client, EVENTS, status="closed") == expected
    pop = sql("SELECT population FROM grids WHERE valid_to IS NULL ORDER BY code LIMIT 1")[0][0]
    n = sql("SELECT count(*) FROM grids WHERE valid_to IS NULL AND population = %s", (pop,))[0][0]
    assert hits(client, GRIDS, population=str(pop)) == n


def test_sortby_orders_and_keeps_paging_stable(client, sql):
    feats = walk(client, f"{GRIDS}?limit=200&sortby=-population&skipGeometry=true")
    pops = [f["properties"]["population"] for f in feats]
    assert pops == sorted(pops, key=lambda p: (p is None, -(p or 0)))
    assert len({f["id"] for f in feats}) == len(feats)


def test_properties_and_skip_geometry(client):
    r = client.get(GRIDS, params={"limit": 2, "properties": "code,name", "skipGeometry": "true"})
    assert r.status_code == 200
    for f in r.json()["features"]:
        assert set(f["properties"]) == {"code", "name"}
        assert f["geometry"] is None


def test_single_feature_by_text_and_integer_id(client, sql):
    code, name = sql("SELECT code, name FROM grids WHERE valid_to IS NULL ORDER BY code LIMIT 1")[0]
    r = client.get(f"{GRIDS}/{code}")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/geo+json")
    assert r.json()["id"] == code and r.json()["properties"]["name"] == name
    pid, vcode = sql("SELECT id, vehicle_code FROM vehicle_positions ORDER BY id LIMIT 1")[0]
    p = client.get(f"/ogc/collections/vehicle_positions/items/{pid}")
    assert p.status_code == 200 and p.json()["properties"]["vehicle_code"] == vcode
