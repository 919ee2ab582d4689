"""OGC API Features Part 1 to the letter on query parameters: unknown ones are refused
(/req/core/query-param-unknown), `datetime` on a collection without time selects every
feature (/req/core/fc-time-response), `sortby` has a bounded number of keys — on the fast
GeoJSON path and on pygeoapi's HTML and JSON-LD paths alike."""

from __future__ import annotations

import pytest

from gis_server.ogc.validate import MAX_SORT_KEYS
from tests.ogc.conftest import local

TOWNS = "/ogc/collections/towns/items"
CAMERAS = "/ogc/collections/cameras/items"
FORMATS = ["json", "html", "jsonld"]


def _refused(r, parameter: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "InvalidParameterValue"
    assert body["parameter"] == parameter and parameter in body["description"]


@pytest.mark.parametrize("f", FORMATS)
@pytest.mark.parametrize("name", ["foo", "Code", "q", "bbox_crs"])
def test_unknown_items_parameter_is_400_naming_it(client, f, name):
    _refused(client.get(CAMERAS, params={"f": f, "limit": 1, name: "x"}), name)


@pytest.mark.parametrize("f", FORMATS)
@pytest.mark.parametrize("name", ["foo", "limit", "bbox", "code"])
def test_unknown_feature_parameter_is_400_naming_it(client, sql, f, name):
    code = sql("SELECT code FROM cameras ORDER BY code LIMIT 1")[0][0]
    _refused(client.get(f"{CAMERAS}/{code}", params={"f": f, name: "1"}), name)


def test_known_parameters_still_answer(client, sql):
    """The standard's parameters, queryable properties, `cursor` and `lang` are not unknown."""
    code = sql("SELECT code FROM cameras ORDER BY code LIMIT 1")[0][0]
    r = client.get(
        CAMERAS, params={"code": code, "lang": "en", "f": "json", "skipGeometry": "true"}
    )
    assert r.status_code == 200, r.text
    assert [f["id"] for f in r.json()["features"]] == [code]
    first = client.get(CAMERAS, params={"limit": 2}).json()
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    assert "cursor=" in nxt
    assert client.get(local(nxt)).status_code == 200
    one = client.get(f"{CAMERAS}/{code}", params={"f": "json", "crs": "EPSG:4326", "lang": "zh"})
    assert one.status_code == 200, one.text


@pytest.mark.parametrize(
    "value", ["2020-01-01", "2020-01-01T00:00:00Z/..", "../..", "../2030-01-01"]
)
def test_datetime_without_time_property_selects_every_feature(client, sql, value):
    total = sql("SELECT count(*) FROM towns")[0][0]
    r = client.get(TOWNS, params={"datetime": value, "limit": 1000, "f": "json"})
    assert r.status_code == 200, r.text
    assert len(r.json()["features"]) == total
    hits = client.get(TOWNS, params={"datetime": value, "resulttype": "hits"})
    assert hits.status_code == 200, hits.text
    assert hits.json()["numberMatched"] == total


@pytest.mark.parametrize("f", ["html", "jsonld"])
def test_datetime_without_time_property_on_pygeoapi_paths(client, sql, f):
    r = client.get(TOWNS, params={"datetime": "2020-01-01", "f": f, "limit": 1})
    assert r.status_code == 200, r.text
    code = sql("SELECT code FROM towns ORDER BY code LIMIT 1")[0][0]
    one = client.get(f"{TOWNS}/{code}", params={"datetime": "2020-01-01", "f": f})
    assert one.status_code == 200, one.text


@pytest.mark.parametrize("f", FORMATS)
def test_malformed_datetime_without_time_property_is_still_400(client, sql, f):
    _refused(client.get(TOWNS, params={"datetime": "soon", "f": f}), "datetime")
    code = sql("SELECT code FROM towns ORDER BY code LIMIT 1")[0][0]
    _refused(client.get(f"{TOWNS}/{code}", params={"datetime": "2020-13-01", "f": f}), "datetime")


@pytest.mark.parametrize("f", FORMATS)
@pytest.mark.parametrize("keys", [MAX_SORT_KEYS + 1, 1000])
def test_too_many_sort_keys_is_400_naming_sortby(client, f, keys):
    r = client.get(CAMERAS, params={"sortby": ",".join(["-name"] * keys), "f": f, "limit": 1})
    _refused(r, "sortby")


def test_sort_keys_up_to_the_cap_answer(client):
    r = client.get(CAMERAS, params={"sortby": ",".join(["name"] * MAX_SORT_KEYS), "limit": 1})
    assert r.status_code == 200, r.text
