"""OGC API Features Part 2: output CRS, bbox-crs, Content-Crs — coordinates checked against PostGIS."""

from __future__ import annotations

import pytest

EVENTS = "/ogc/collections/events/items"
URI = "http://www.opengis.net/def/crs/"


@pytest.fixture(scope="module")
def event(sql):
    code, x, y, x3857, y3857, x4490, y4490 = sql(
        "SELECT code, ST_X(geom), ST_Y(geom), ST_X(ST_Transform(geom, 3857)), "
        "ST_Y(ST_Transform(geom, 3857)), ST_X(ST_Transform(geom, 4490)), "
        "ST_Y(ST_Transform(geom, 4490)) FROM events ORDER BY code LIMIT 1 OFFSET 3"
    )[0]
    return {"code": code, "crs84": (x, y), "3857": (x3857, y3857), "4490": (x4490, y4490)}


@pytest.mark.parametrize(
    "crs, key, lat_first, tol",
    [
        (None, "crs84", False, 1e-8),
        (URI + "OGC/1.3/CRS84", "crs84", False, 1e-8),
        (URI + "EPSG/0/4326", "crs84", True, 1e-8),
        ("EPSG:4326", "crs84", True, 1e-8),
        (URI + "EPSG/0/4490", "4490", True, 1e-8),
        (URI + "EPSG/0/3857", "3857", False, 1e-3),
    ],
)
def test_output_crs(client, event, crs, key, lat_first, tol):
    params = {"crs": crs} if crs else {}
    expected = event[key][::-1] if lat_first else event[key]
    one = client.get(f"{EVENTS}/{event['code']}", params=params)
    many = client.get(EVENTS, params={**params, "code": event["code"]})
    for r in (one, many):
        assert r.status_code == 200, r.text
        uri = (URI + "EPSG/0/4326") if crs == "EPSG:4326" else (crs or URI + "OGC/1.3/CRS84")
        assert r.headers["content-crs"] == f"<{uri}>"
    coords = one.json()["geometry"]["coordinates"]
    assert coords == pytest.approx(list(expected), abs=tol)
    assert many.json()["features"][0]["geometry"]["coordinates"] == pytest.approx(
        list(expected), abs=tol
    )


@pytest.mark.parametrize("crs", ["EPSG/0/4490", "EPSG/0/3857", "EPSG/0/4326"])
def test_geometry_has_no_crs_member(client, event, crs):
    """RFC 7946 geometries carry no "crs" member; Content-Crs names the CRS."""
    for params in ({"crs": URI + crs}, {"crs": URI + crs, "f": "json"}):
        one = client.get(f"{EVENTS}/{event['code']}", params=params).json()
        many = client.get(EVENTS, params={**params, "limit": 3}).json()
        for geometry in [one["geometry"]] + [f["geometry"] for f in many["features"]]:
            assert "crs" not in geometry, geometry


def test_lat_first_really_puts_latitude_first(client, event):
    r = client.get(f"{EVENTS}/{event['code']}", params={"crs": URI + "EPSG/0/4326"})
    lat, lon = r.json()["geometry"]["coordinates"]
    assert 30 < lat < 33 and 120 < lon < 123  # the district is at ~32°N 121°E


def test_polygons_in_3857(client, sql):
    code, x, y = sql(
        "SELECT code, ST_X(ST_PointN(ST_ExteriorRing(ST_GeometryN(ST_Transform(geom, 3857), 1)), 1)), "
        "ST_Y(ST_PointN(ST_ExteriorRing(ST_GeometryN(ST_Transform(geom, 3857), 1)), 1)) "
        "FROM grids WHERE valid_to IS NULL ORDER BY code LIMIT 1"
    )[0]
    r = client.get(f"/ogc/collections/grids/items/{code}", params={"crs": URI + "EPSG/0/3857"})
    assert r.json()["geometry"]["coordinates"][0][0][0] == pytest.approx([x, y], abs=1e-3)


@pytest.mark.parametrize(
    "bbox_crs, bbox, envelope",
    [
        (URI + "EPSG/0/3857", "13490000,3745000,13510000,3765000",
         "ST_Transform(ST_MakeEnvelope(13490000,3745000,13510000,3765000,3857),4326)"),
        (URI + "EPSG/0/4326", "31.8,121.2,32.0,121.4", "ST_MakeEnvelope(121.2,31.8,121.4,32.0,4326)"),
        (URI + "EPSG/0/4490", "31.8,121.2,32.0,121.4", "ST_MakeEnvelope(121.2,31.8,121.4,32.0,4326)"),
        (URI + "OGC/1.3/CRS84", "121.2,31.8,121.4,32.0", "ST_MakeEnvelope(121.2,31.8,121.4,32.0,4326)"),
    ],
)  # fmt: skip
def test_bbox_crs(client, sql, bbox_crs, bbox, envelope):
    expected = sql(f"SELECT count(*) FROM events WHERE ST_Intersects(geom, {envelope})")[0][0]
    r = client.get(EVENTS, params={"bbox": bbox, "bbox-crs": bbox_crs, "resulttype": "hits"})
    assert r.status_code == 200, r.text
    assert 0 < r.json()["numberMatched"] == expected
