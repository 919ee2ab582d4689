"""Response headers are part of the contract: for a sample of operations, every header that
matters to a client (validators, Location, Allow, Retry-After, Link, Content-Crs …) that a
real response carries is declared on that operation's response in the OpenAPI document."""

from __future__ import annotations

import secrets
from typing import Any

import psycopg2
import pytest

from gis_server.auth import store
from gis_server.auth.roles import Role

# what a client reads from a response; transport headers (Content-Type/-Length/-Encoding,
# Vary, Date, Server) are HTTP's, not the API's
CONTRACT = {
    "etag",
    "last-modified",
    "location",
    "allow",
    "retry-after",
    "link",
    "content-crs",
    "content-language",
    "www-authenticate",
    "cache-control",
}


@pytest.fixture(scope="module")
def keys(demo_db):
    made, out = [], {}
    with psycopg2.connect(demo_db) as conn:
        for role in (Role.VIEWER, Role.GIS_EDITOR, Role.ADMIN):
            name = f"hdr-{role.label}-{secrets.token_hex(3)}"
            store.add_user(conn, name, role, "long enough password")
            out[role] = {"X-API-Key": store.issue_key(conn, name, "t")[1]}
            made.append(name)
    conn.close()
    yield out
    with psycopg2.connect(demo_db) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM users WHERE username = ANY(%s)", (made,))
    conn.close()


def _documented(doc: dict[str, Any], path: str, method: str, status: int) -> set[str]:
    op = doc["paths"][path][method.lower()]
    response = op["responses"].get(str(status))
    assert response is not None, f"{method} {path}: status {status} not documented"
    return {h.lower() for h in response.get("headers", {})}


def _check(doc, path, method, response, missing: list[str]) -> set[str]:
    """The contract headers the response carries; those undocumented go to `missing`."""
    sent = {h.lower() for h in response.headers} & CONTRACT
    lacking = sent - _documented(doc, path, method, response.status_code)
    if lacking:
        missing.append(f"{method} {path} {response.status_code}: {sorted(lacking)}")
    return sent


def test_ogc_responses_declare_their_headers(app_client, ogc_doc, keys):
    c, editor, admin = app_client, keys[Role.GIS_EDITOR], keys[Role.ADMIN]
    items = "/collections/cameras/items"
    camera = c.get(f"/ogc{items}", params={"limit": 1}).json()["features"][0]["id"]
    town = c.get("/ogc/collections/towns/items", params={"limit": 1}).json()["features"][0]["id"]
    town_url = f"/ogc/collections/towns/items/{town}"
    seen: set[str] = set()
    asks = [
        ("/", "GET", lambda: c.get("/ogc/")),
        ("/collections", "GET", lambda: c.get("/ogc/collections")),
        (items, "GET", lambda: c.get(f"/ogc{items}", params={"limit": 2})),
        (f"{items}/{{featureId}}", "GET", lambda: c.get(f"/ogc{items}/{camera}")),
        ("/collections/towns/items/{featureId}", "GET", lambda: c.get(town_url)),
        ("/collections/towns/items/{featureId}", "GET",
         lambda: c.get(town_url, headers={"If-None-Match": c.get(town_url).headers["etag"]})),
        (items, "OPTIONS", lambda: c.options(f"/ogc{items}")),
        ("/collections/towns/items", "POST",
         lambda: c.post("/ogc/collections/towns/items", json={}, headers=admin)),
        (items, "POST", lambda: c.post(f"/ogc{items}", json={}, headers=editor)),
        (f"{items}/{{featureId}}", "PATCH",
         lambda: c.patch(f"/ogc{items}/{camera}", json={}, headers={**editor, "If-Match": '"u1"'})),
        (f"{items}/{{featureId}}", "PATCH",
         lambda: c.patch(f"/ogc{items}/{camera}", params={"dry_run": "true"}, json={},
                         headers=editor)),
        ("/collections/grids/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}", "GET",
         lambda: c.get("/ogc/collections/grids/tiles/WebMercatorQuad/12/1660/3428")),
        ("/conformance", "GET", lambda: c.get("/ogc/conformance")),
        ("/tileMatrixSets", "GET", lambda: c.get("/ogc/tileMatrixSets")),
        ("/collections/grids/tiles", "GET", lambda: c.get("/ogc/collections/grids/tiles")),
    ]  # fmt: skip
    missing: list[str] = []
    for path, method, ask in asks:
        seen |= _check(ogc_doc, path, method, ask(), missing)
    assert missing == [], "\n".join(missing)
    # the sample exercises the headers that matter (else this test could not fail)
    assert {"etag", "allow", "content-crs", "last-modified"} <= seen, seen


def test_ogc_post_declares_location(app_client, ogc_doc, keys):
    c, editor = app_client, keys[Role.GIS_EDITOR]
    code = f"HDR-{secrets.token_hex(3)}"
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [121.2, 31.85]},
            "properties": {"code": code, "name": "头 header test", "kind": "riverside"}}  # fmt: skip
    made = c.post("/ogc/collections/cameras/items", json=body, headers=editor)
    assert made.status_code == 201, made.text
    try:
        missing: list[str] = []
        sent = _check(ogc_doc, "/collections/cameras/items", "POST", made, missing)
        assert missing == [] and {"location", "etag"} <= sent, missing
    finally:
        gone = c.delete(f"/ogc/collections/cameras/items/{code}", headers=editor)
        assert gone.status_code == 204


def test_api_responses_declare_their_headers(app_client, api_doc, keys):
    c, viewer = app_client, keys[Role.VIEWER]
    seen: set[str] = set()
    asks = [
        ("/api/grids/check", "GET", lambda: c.get("/api/grids/check")),
        ("/api/console/layers/towns", "GET", lambda: c.get("/api/console/layers/towns")),
        ("/api/console/layers/towns", "GET",
         lambda: c.get("/api/console/layers/towns", headers={"If-None-Match": c.get("/api/console/layers/towns").headers["etag"]})),
        ("/api/auth/me", "GET", lambda: c.get("/api/auth/me", headers=viewer)),
        ("/api/auth/login", "POST",
         lambda: c.post("/api/auth/login", json={"username": "nobody-x", "password": "wrong one!"})),
        ("/healthz", "GET", lambda: c.get("/healthz")),
    ]  # fmt: skip
    missing: list[str] = []
    for path, method, ask in asks:
        seen |= _check(api_doc, path, method, ask(), missing)
    assert missing == [], "\n".join(missing)
    assert {"www-authenticate", "etag"} <= seen, seen
