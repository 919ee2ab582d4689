"""The fast GeoJSON route: same answers as pygeoapi, keyset paging, HTTP caching, gzip.

pygeoapi's answer for the same request is obtained by switching the fast route
off (`fast_items.wants_geojson` → False), so both paths run on the same app.
"""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qsl, urlsplit

import psycopg2
import pytest

from gis_server.ogc import fast_items
from tests.ogc.conftest import local, walk

CAMERAS = "/ogc/collections/cameras/items"
EVENTS = "/ogc/collections/events/items"
GRIDS = "/ogc/collections/grids/items"


def _pygeoapi(client, monkeypatch, url, **kw):
    with monkeypatch.context() as m:
        m.setattr(fast_items, "wants_geojson", lambda request: False)
        return client.get(url, **kw)


def _strip_cursor(href: str) -> str:
    return re.sub(r"&cursor=[^&]*", "", href)


def _links(body):
    return [{**link, "href": _strip_cursor(link["href"])} for link in body["links"]]


REQUESTS = [
    (CAMERAS, {"f": "json", "limit": "7"}),
    (CAMERAS, {"limit": "5", "offset": "10", "sortby": "-code", "kind": "xueliang"}),
    (CAMERAS, {"f": "json", "bbox": "121.2,31.8,121.4,32.0", "limit": "20", "sortby": "name"}),
    (GRIDS, {"f": "json", "limit": "3", "crs": "EPSG:4490", "properties": "code,name"}),
    (GRIDS, {"limit": "4", "skipGeometry": "true", "datetime": "2021-01-01T00:00:00Z"}),
    (EVENTS, {"limit": "6", "filter": "status = 'closed' AND priority <> 'normal'"}),
    (EVENTS, {"f": "json", "limit": "5", "crs": "http://www.opengis.net/def/crs/EPSG/0/3857"}),
    (EVENTS, {"limit": "50", "datetime": "2026-03-01T00:00:00Z/2026-03-02T00:00:00Z"}),
    (CAMERAS, {"f": "json", "limit": "2", "lang": "en"}),
]


@pytest.mark.parametrize(("url", "params"), REQUESTS)
def test_fast_items_equal_pygeoapi(client, monkeypatch, url, params):
    fast = client.get(url, params=params)
    slow = _pygeoapi(client, monkeypatch, url, params=params)
    assert fast.status_code == slow.status_code == 200, fast.text
    assert "x-powered-by" in fast.headers and fast.headers.get("etag")
    for header in ("content-type", "content-crs", "content-language"):
        assert fast.headers[header] == slow.headers[header], header
    a, b = fast.json(), slow.json()
    assert a["features"] == b["features"]
    assert a["numberReturned"] == b["numberReturned"]
    if "numberMatched" in a:
        assert a["numberMatched"] == b["numberMatched"]
    assert _links(a) == b["links"]
    assert set(a) - {"numberMatched"} == set(b) - {"numberMatched"}  # fast may omit it


def test_fast_item_equals_pygeoapi(client, monkeypatch, sql):
    code = sql("SELECT code FROM cameras ORDER BY code LIMIT 1")[0][0]
    for params in ({"f": "json"}, {"crs": "EPSG:4326"}):
        fast = client.get(f"{CAMERAS}/{code}", params=params)
        slow = _pygeoapi(client, monkeypatch, f"{CAMERAS}/{code}", params=params)
        assert fast.status_code == slow.status_code == 200
        assert fast.json() == slow.json()
        assert fast.headers["content-crs"] == slow.headers["content-crs"]


def test_accept_language_is_negotiated_as_pygeoapi_does(client, monkeypatch):
    headers = {"Accept-Language": "en-US,en;q=0.8"}
    fast = client.get(CAMERAS, params={"limit": 1}, headers=headers)
    slow = _pygeoapi(client, monkeypatch, CAMERAS, params={"limit": 1}, headers=headers)
    assert fast.headers["content-language"] == slow.headers["content-language"]


def test_fast_item_not_found_is_json_404(client):
    r = client.get(f"{CAMERAS}/no-such-camera", params={"f": "json"})
    assert r.status_code == 404 and r.json()["code"] == "NotFound"
    assert "no-such-camera" in r.json()["description"]


def test_html_still_goes_through_pygeoapi(client):
    r = client.get(CAMERAS, params={"f": "html", "limit": 2})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")


def test_keyset_paging_returns_every_event_exactly_once(client, sql):
    features = walk(client, f"{EVENTS}?limit=97&skipGeometry=true")
    codes = [f["id"] for f in features]
    assert len(codes) == len(set(codes)) == sql("SELECT count(*) FROM events")[0][0]
    ordered = [r[0] for r in sql("SELECT code FROM events ORDER BY created_at, code")]
    assert codes == ordered


def test_next_links_carry_a_cursor_that_matches_offset_paging(client):
    body = client.get(CAMERAS, params={"limit": 25, "sortby": "-name"}).json()
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    assert "cursor=" in nxt and "offset=25" in nxt
    by_cursor = client.get(local(nxt)).json()
    by_offset = client.get(CAMERAS, params={"limit": 25, "sortby": "-name", "offset": 25}).json()
    assert [f["id"] for f in by_cursor["features"]] == [f["id"] for f in by_offset["features"]]


@pytest.mark.parametrize("cursor", ["garbage!", "W10", "bm90IGpzb24"])
def test_bad_cursor_is_400_naming_it(client, cursor):
    r = client.get(CAMERAS, params={"limit": 5, "cursor": cursor})
    assert r.status_code == 400
    assert r.json()["description"].startswith("cursor")


def test_cursor_for_another_sort_order_is_400(client):
    body = client.get(CAMERAS, params={"limit": 5, "sortby": "name"}).json()
    nxt = next(link["href"] for link in body["links"] if link["rel"] == "next")
    cursor = dict(parse_qsl(urlsplit(nxt).query))["cursor"]
    r = client.get(CAMERAS, params={"limit": 5, "sortby": "-name", "cursor": cursor})
    assert r.status_code == 400 and "cursor" in r.json()["description"]


def test_etag_304_and_last_modified(client):
    r = client.get(CAMERAS, params={"limit": 3})
    tag, modified = r.headers["etag"], r.headers["last-modified"]
    assert r.headers["cache-control"].startswith("public")
    assert (
        client.get(CAMERAS, params={"limit": 3}, headers={"If-None-Match": tag}).status_code == 304
    )
    again = client.get(CAMERAS, params={"limit": 3}, headers={"If-Modified-Since": modified})
    assert again.status_code == 304 and again.content == b""
    other = client.get(CAMERAS, params={"limit": 4}, headers={"If-None-Match": tag})
    assert other.status_code == 200


def test_etag_changes_after_a_write(client, demo_db):
    versions = client.app.state.ogc.fast.versions
    versions.invalidate()
    before = client.get(CAMERAS, params={"limit": 3}).headers["etag"]
    conn = psycopg2.connect(demo_db)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO cameras (code, name, kind, status, geom) VALUES "
                "('TEST-ETAG-1', 'etag test', 'xueliang', 'online', "
                "ST_SetSRID(ST_Point(121.3, 31.9), 4326))"
            )
        versions.invalidate()
        after = client.get(CAMERAS, params={"limit": 3}, headers={"If-None-Match": before})
        assert after.status_code == 200 and after.headers["etag"] != before
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM cameras WHERE code = 'TEST-ETAG-1'")
        conn.close()
        versions.invalidate()


def test_gzip_when_accepted(client):
    r = client.get(GRIDS, params={"limit": 50}, headers={"Accept-Encoding": "gzip"})
    assert r.headers["content-encoding"] == "gzip" and "Accept-Encoding" in r.headers["vary"]
    assert r.json()["numberReturned"] == 50  # httpx decoded it
    plain = client.get(GRIDS, params={"limit": 50}, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    assert json.loads(plain.content)["features"] == r.json()["features"]
