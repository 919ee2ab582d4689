"""Landing page, conformance, OpenAPI, collections, queryables, /healthz."""

from __future__ import annotations

import pytest

from layers.migrate import head_revision
from layers.registry import LAYERS

CONF = "http://www.opengis.net/spec/"
REQUIRED_CONFORMANCE = [
    "ogcapi-features-1/1.0/conf/core",
    "ogcapi-features-1/1.0/conf/geojson",
    "ogcapi-features-1/1.0/conf/html",
    "ogcapi-features-1/1.0/conf/oas30",
    "ogcapi-features-2/1.0/conf/crs",
    "ogcapi-features-3/1.0/conf/filter",
    "ogcapi-features-3/1.0/conf/features-filter",
    "ogcapi-features-3/1.0/conf/queryables",
    "cql2/1.0/conf/cql2-text",
    "cql2/1.0/conf/cql2-json",
]


def test_healthz_reports_database_and_migrations(client):
    r = client.get("/healthz")
    assert r.status_code == 200
    body = r.json()
    assert body["database"] == "reachable"
    assert body["migrations"]["current"] == body["migrations"]["head"] == head_revision()


def test_landing_page_links(client, ogc_settings):
    for url in ("/ogc", "/ogc/"):
        r = client.get(url)
        assert r.status_code == 200
        rels = {link["rel"]: link["href"] for link in r.json()["links"]}
        assert rels["conformance"].startswith(ogc_settings.server.public_url + "/ogc/conformance")
        assert "data" in rels and "service-desc" in rels
    assert "<html" in client.get("/ogc?f=html").text


def test_conformance_claims(client):
    r = client.get("/ogc/conformance")
    assert r.status_code == 200
    claims = set(r.json()["conformsTo"])
    for c in REQUIRED_CONFORMANCE:
        assert CONF + c in claims
    # Part 4 is offered on the editable layers (gis_server/ogc/writes.py), so claimed.
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in claims
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update" in claims


def test_openapi_json_and_html(client):
    r = client.get("/ogc/openapi?f=json")
    assert r.status_code == 200
    assert "openapi" in r.headers["content-type"]
    doc = r.json()
    for layer in LAYERS:
        assert f"/collections/{layer.id}/items" in doc["paths"]
    assert "password" not in r.text and "postgresql://" not in r.text
    html = client.get("/ogc/openapi?f=html")
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]


def test_collections_json_lists_every_layer_in_chinese_and_english(client):
    r = client.get("/ogc/collections")
    assert r.status_code == 200
    by_id = {c["id"]: c for c in r.json()["collections"]}
    assert set(by_id) == {layer.id for layer in LAYERS}
    for layer in LAYERS:
        c = by_id[layer.id]
        assert c["title"] == layer.title and layer.title_zh in c["title"]
        assert layer.description_zh in c["description"]
        assert "http://www.opengis.net/def/crs/EPSG/0/4490" in c["crs"]
        assert c["storageCrs"] == "http://www.opengis.net/def/crs/OGC/1.3/CRS84"


def test_collections_html_shows_chinese_titles(client):
    r = client.get("/ogc/collections?f=html")
    assert r.status_code == 200 and "text/html" in r.headers["content-type"]
    for layer in LAYERS:
        assert layer.title_zh in r.text
    one = client.get("/ogc/collections/grids?f=html")
    assert one.status_code == 200 and "网格" in one.text


@pytest.mark.parametrize("layer", LAYERS, ids=lambda x: x.id)
def test_collection_and_queryables(client, layer):
    r = client.get(f"/ogc/collections/{layer.id}")
    assert r.status_code == 200
    assert r.json()["title"] == layer.title
    q = client.get(f"/ogc/collections/{layer.id}/queryables")
    assert q.status_code == 200
    assert q.headers["content-type"].startswith("application/schema+json")
    props = q.json()["properties"]
    assert props["geometry"]["format"] == "geometry-any"
    assert set(props) == {"geometry"} | {p.name for p in layer.properties}
    for p in layer.properties:
        assert props[p.name]["title"] == p.title
        assert props[p.name]["type"] == p.type
        if p.enum:
            assert props[p.name]["enum"] == list(p.enum)
        if p.format:
            assert props[p.name]["format"] == p.format
    html = client.get(f"/ogc/collections/{layer.id}/queryables?f=html")
    assert html.status_code == 200 and "text/html" in html.headers["content-type"]


def test_events_never_expose_reporter_data(client):
    r = client.get("/ogc/collections/events/items?limit=50")
    assert r.status_code == 200
    for f in r.json()["features"]:
        assert not any(k.startswith("reporter") for k in f["properties"])
    q = client.get("/ogc/collections/events/items", params={"filter": "reporter_phone IS NULL"})
    assert q.status_code == 400 and "reporter_phone" in q.json()["description"]


def test_healthz_is_503_when_the_database_is_unreachable(ogc_settings):
    from starlette.testclient import TestClient

    from gis_server.app import create_app

    dead = ogc_settings.model_copy(
        update={
            "database": ogc_settings.database.model_copy(
                update={"url": "postgresql://postgres@127.0.0.1:1/nowhere"}
            )
        }
    )
    with TestClient(create_app(dead)) as c:
        r = c.get("/healthz")
    assert r.status_code == 503
    assert r.json()["database"] == "unreachable"
