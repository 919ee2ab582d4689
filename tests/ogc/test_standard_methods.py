"""HTTP methods and media types of the items resources, to the letter: OPTIONS lists what a
resource takes (`Allow`), a write to a read-only collection is 405 with that `Allow`, and a
write body that is not JSON is 415 naming Content-Type (RFC 9110; OGC API Features Part 4)."""

from __future__ import annotations

import secrets

import psycopg2
import pytest

from gis_server.auth import Role, store

CAMERAS = "/ogc/collections/cameras/items"  # editable (gis_editor)
TOWNS = "/ogc/collections/towns/items"  # read-only
READ = {"GET", "HEAD", "OPTIONS"}


def _allow(r) -> set[str]:
    return {m.strip() for m in r.headers["allow"].split(",")}


@pytest.fixture(scope="module")
def key(demo_db):
    """An API key header of a new user with the role."""

    def make(role: Role) -> dict[str, str]:
        name = f"std-{role.label.replace('_', '-')}-{secrets.token_hex(3)}"
        with psycopg2.connect(demo_db) as conn:
            store.add_user(conn, name, role, "correct horse battery")
            _, k, _ = store.issue_key(conn, name, "test")
        conn.close()
        return {"X-API-Key": k}

    return make


@pytest.fixture(scope="module")
def camera(sql) -> str:
    return sql("SELECT code FROM cameras ORDER BY code LIMIT 1")[0][0]


@pytest.fixture(scope="module")
def town(sql) -> str:
    return sql("SELECT code FROM towns ORDER BY code LIMIT 1")[0][0]


def test_options_on_an_editable_collection(client, camera):
    items = client.options(CAMERAS)
    assert items.status_code in (200, 204), items.text
    assert _allow(items) == READ | {"POST"}
    feature = client.options(f"{CAMERAS}/{camera}")
    assert feature.status_code in (200, 204), feature.text
    assert _allow(feature) == READ | {"PUT", "PATCH", "DELETE"}


def test_options_on_a_read_only_collection(client, town):
    for url in (TOWNS, f"{TOWNS}/{town}"):
        r = client.options(url)
        assert r.status_code in (200, 204), r.text
        assert _allow(r) == READ


def test_options_on_an_unknown_collection_is_404(client):
    assert client.options("/ogc/collections/nope/items").status_code == 404
    assert client.options("/ogc/collections/nope/items/1").status_code == 404


@pytest.mark.parametrize(
    "method, path",
    [("POST", ""), ("PUT", "/{town}"), ("PATCH", "/{town}"), ("DELETE", "/{town}")],
)
def test_write_to_a_read_only_collection_is_405_with_allow(client, key, town, method, path):
    headers = {**key(Role.ADMIN), "Content-Type": "application/geo+json"}
    url = TOWNS + path.format(town=town)
    r = client.request(method, url, headers=headers, json={"type": "Feature"})
    assert r.status_code == 405, r.text
    assert _allow(r) == READ
    assert r.json()["code"] == "MethodNotAllowed" and r.json()["description"]


@pytest.mark.parametrize(
    "method, path, ctype",
    [
        ("POST", "", "text/plain"),
        ("POST", "", "application/x-www-form-urlencoded"),
        ("POST", "", "application/merge-patch+json"),  # a merge patch is not a feature to create
        ("POST", "", None),
        ("PUT", "/{camera}", "application/xml"),
        ("PATCH", "/{camera}", "text/json"),
    ],
)
def test_write_that_is_not_json_is_415_naming_content_type(
    client, key, camera, method, path, ctype
):
    headers = key(Role.GIS_EDITOR)
    if ctype is not None:
        headers["Content-Type"] = ctype
    url = CAMERAS + path.format(camera=camera)
    r = client.request(method, url, headers=headers, content=b'{"type": "Feature"}')
    assert r.status_code == 415, r.text
    body = r.json()
    assert body["code"] == "UnsupportedMediaType"
    assert body["header"] == "Content-Type" and "Content-Type" in body["description"]


@pytest.mark.parametrize(
    "method, path, ctype",
    [
        ("POST", "", "application/geo+json; charset=utf-8"),
        ("POST", "", "Application/JSON"),
        ("PUT", "/{camera}", "application/json;charset=UTF-8"),
        ("PATCH", "/{camera}", "application/merge-patch+json; charset=utf-8"),
        ("PATCH", "/{camera}", "application/geo+json"),
    ],
)
def test_json_writes_pass_the_media_type_check(client, key, camera, method, path, ctype):
    """The body is read and checked (422 for its unknown property): the type was accepted."""
    headers = {**key(Role.GIS_EDITOR), "Content-Type": ctype}
    url = CAMERAS + path.format(camera=camera)
    body = {"type": "Feature", "properties": {"no_such_property": 1}, "geometry": None}
    r = client.request(method, url, headers=headers, json=body)
    assert r.status_code == 422, r.text
    assert r.json()["property"] == "no_such_property"
