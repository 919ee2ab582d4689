"""Every bad request is a 4xx with a JSON body naming the parameter; none is a 500."""

from __future__ import annotations

import json

import pytest

G = "/ogc/collections/grids/items"
E = "/ogc/collections/events/items"
T = "/ogc/collections/towns/items"
NOT_FOUND = [
    "/ogc/collections/nope",
    "/ogc/collections/nope/items",
    "/ogc/collections/nope/queryables",
    "/ogc/collections/nope/schema",
    "/ogc/collections/nope/items/x",
    f"{G}/NO-SUCH-GRID",
    "/ogc/collections/vehicle_positions/items/abc",
    "/ogc/collections/vehicle_positions/items/1.5",
    "/ogc/collections/vehicle_positions/items/99999999999",
    "/ogc/nothing-here",
]

BAD = [
    (G, {"limit": "0"}, "limit"),
    (G, {"limit": "-5"}, "limit"),
    (G, {"limit": "ten"}, "limit"),
    (G, {"limit": "1.5"}, "limit"),
    (G, {"offset": "-1"}, "offset"),
    (G, {"offset": "x"}, "offset"),
    (G, {"bbox": "1,2,3"}, "bbox"),
    (G, {"bbox": "1,2,3,4,5"}, "bbox"),
    (G, {"bbox": "a,b,c,d"}, "bbox"),
    (G, {"bbox": "121.4,31.8,121.2,32.0"}, "bbox"),
    (G, {"bbox": "121.2,32.0,121.4,31.8"}, "bbox"),
    (G, {"bbox": "121,95,122,96"}, "bbox"),
    (G, {"bbox": "200,30,210,31"}, "bbox"),
    (G, {"bbox": "121,31,122,nan"}, "bbox"),
    (G, {"bbox": "1,2,30,3,4,10"}, "bbox"),
    (G, {"bbox": "121.2,31.8,121.4,32.0", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/4326"}, "bbox"),
    (G, {"bbox": "0,0,1,1", "bbox-crs": "http://www.opengis.net/def/crs/EPSG/0/3857", "limit": "x"}, "limit"),
    (G, {"bbox": "1e8,0,2e8,1", "bbox-crs": "EPSG:3857"}, "bbox"),
    (G, {"bbox": "1,2,3,4", "bbox-crs": "EPSG:9999"}, "bbox-crs"),
    (G, {"bbox-crs": "EPSG:4326"}, "bbox-crs"),
    (G, {"crs": "EPSG:9999"}, "crs"),
    (G, {"crs": "nonsense"}, "crs"),
    (f"{G}/X", {"crs": "EPSG:2000"}, "crs"),
    (E, {"datetime": "yesterday"}, "datetime"),
    (E, {"datetime": "2026-13-01"}, "datetime"),
    (E, {"datetime": "2026-02-01T00:00:00Z/2026-01-01T00:00:00Z"}, "datetime"),
    (E, {"datetime": "2026-01-01/2026-02-01/2026-03-01"}, "datetime"),
    (E, {"datetime": "../garbage"}, "datetime"),
    (T, {"datetime": "2026-01-01T00:00:00Z/garbage"}, "datetime"),  # no time, still parsed
    (E, {"filter": "status ="}, "filter"),
    (E, {"filter": "nosuch = 1"}, "nosuch"),
    (E, {"filter": "S_INTERSECTS(geometry, POINT(1))"}, "filter"),
    (G, {"filter": "population = 'many'"}, "population"),
    (E, {"filter": "T_AFTER(status, TIMESTAMP('2026-01-01T00:00:00Z'))"}, "status"),
    (E, {"filter": "accenti(title) = 'x'"}, "filter"),
    (E, {"filter": "status = 'closed'", "filter-lang": "cql-xyz"}, "filter-lang"),
    (E, {"filter": "{not json", "filter-lang": "cql2-json"}, "filter"),
    (E, {"filter": json.dumps({"op": "=", "args": [{"property": "nope"}, 1]}), "filter-lang": "cql2-json"}, "nope"),
    (E, {"filter": "status = 'x'", "filter-crs": "EPSG:1"}, "filter-crs"),
    (E, {"sortby": "nosuch"}, "sortby"),
    (E, {"sortby": "-reporter_phone"}, "sortby"),
    (E, {"properties": "code,nosuch"}, "properties"),
    (E, {"skipGeometry": "maybe"}, "skipGeometry"),
    (E, {"resulttype": "some"}, "resulttype"),
    (E, {"f": "xml"}, "f"),
    ("/ogc/collections", {"f": "xml"}, "f"),
    (G, {"population": "many"}, "population"),
    (G, {"valid_from": "soon"}, "valid_from"),
    (G, {"limit": ["1", "2"]}, "limit"),
]  # fmt: skip


@pytest.mark.parametrize("url", NOT_FOUND)
def test_not_found(client, url):
    r = client.get(url)
    assert r.status_code == 404, r.text
    body = r.json()
    assert body["code"] == "NotFound" and body["description"]


@pytest.mark.parametrize(
    "url, params, names", BAD, ids=[f"{b[0].split('/')[-2]}-{b[1]}" for b in BAD]
)
def test_bad_parameter_is_400_naming_it(client, url, params, names):
    r = client.get(url, params=params)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] and names in body["description"]


@pytest.mark.parametrize(
    "url",
    [
        f"{G}?bbox=121,31,0,122,32,0",
        f"{E}?datetime=2026-01-01T00:00:00Z/..",
        "/ogc/collections/vehicle_positions/items/-1",
        f"{G}?filter=code%20LIKE%20%27%25%27&limit=1",
        f"{G}?sortby=%2Bpopulation,-code&limit=1",
        f"{G}?sortby=population:D&limit=1",
        f"{E}?filter=created_at%20%3E%20%27not-a-time%27",
        f"{G}?f=html&limit=1",
        f"{G}?f=jsonld&limit=1",
        f"{G}?properties=&limit=1",
        f"{G}?unknown_param=1&limit=1",
        "/ogc/collections/grids/schema",
        "/ogc/collections/grids/items/%00",
    ],
)
def test_no_request_is_a_500(client, url):
    r = client.get(url)
    assert r.status_code < 500, r.text
    if r.status_code >= 400:
        assert r.json()["description"]
