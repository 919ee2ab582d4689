"""NUL characters, lone surrogates and absurd nesting in what clients send: a 400 naming
where, and nothing written — never a 500 from PostgreSQL or a RecursionError."""

from __future__ import annotations

import json

import pytest

from gis_server.auth import Role

GEOJSON = {"Content-Type": "application/geo+json"}
ITEMS = "/ogc/collections/grids/items"
DEEP = "[" * 10_000 + "]" * 10_000


def bad(r, name: str | None = None, status: int = 400) -> dict:
    """The one JSON error body, naming `name` (a parameter, property or path)."""
    assert r.status_code == status, r.text
    body = r.json()
    assert {"code", "description"} <= set(body)
    if name is not None:
        assert body.get("parameter", body.get("property")) == name, body
    return body


def feature(code: str, **props: object) -> dict:
    return {
        "type": "Feature",
        "id": code,
        "properties": {"code": code, **props},
        "geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]},
    }


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/console/events?category=a%00b", "category"),
        ("/api/console/events?status=%00", "status"),
        ("/api/console/search?q=T9%00", "q"),
        ("/api/console/point?lon=121&lat=31&x%00=1", "x\\u0000"),
        ("/api/console/tracks/V%00", "path"),
        ("/api/console/tracks/V%001/2024-01-01", "path"),
        ("/api/grids/T9%00/history", "path"),
        ("/api/grids/diff?from=2024-01-01&to=2025-01-01&type=%00", "type"),
        ("/ogc/collections/grids/items/T9%00?f=json", "path"),
    ],
)
def test_nul_in_paths_and_query_parameters(client, url, name):
    bad(client.get(url), name)


def test_nul_and_surrogates_in_login(client):
    for body in ({"username": "a\x00b", "password": "x"}, {"username": "\ud800", "password": "x"}):
        raw = json.dumps(body).encode()  # ensure_ascii: \u0000 and \ud800 escapes on the wire
        r = client.post(
            "/api/auth/login", content=raw, headers={"content-type": "application/json"}
        )
        bad(r, "username")
    form = {"content-type": "application/x-www-form-urlencoded"}
    bad(
        client.post("/api/auth/login", content=b"username=a%00&password=x", headers=form),
        "username",
    )
    bad(
        client.post("/api/auth/login", content=b"username=u&password=%00", headers=form), "password"
    )


@pytest.mark.parametrize(
    ("body", "name"),
    [
        (feature("T9-NUL", name="a\x00b"), "properties.name"),
        (feature("T9-NUL", name="\udc00"), "properties.name"),
        ({**feature("T9-NUL"), "id": "T9-\x00"}, "id"),
        ({**feature("T9-NUL"), "bad\x00key": 1}, "bad\ufffdkey"),
    ],
)
def test_nul_and_surrogates_in_part4_bodies(client, town, editor, sql, body, name):
    r = client.post(ITEMS, content=json.dumps(body), headers={**GEOJSON, **editor})
    bad(r, name)
    assert (
        sql(
            "SELECT count(*) FROM grids WHERE code LIKE 'T9-%%' AND code <> ALL(%s)",
            (["T9-A", "T9-B", "T9-C", "T9-D"],),
        )[0][0]
        == 0
    )


def test_nul_in_part4_feature_id_path(client, town, editor, sql):
    r = client.put(
        f"{ITEMS}/T9-A%00", content=json.dumps(feature("T9-A")), headers={**GEOJSON, **editor}
    )
    bad(r, "path")
    assert sql("SELECT max(version) FROM grids WHERE code = 'T9-A'")[0][0] == 1


@pytest.mark.parametrize(
    ("inputs", "name"),
    [
        ({"codes": ["T9-A", "T9-B"], "into": "T9-\x00"}, "inputs.into"),
        ({"codes": ["T9-A", "T9-\ud800"], "into": "T9-A"}, "inputs.codes[1]"),
        ({"codes": ["T9-A", "T9-B"], "into": "T9-A", "name": "\x00"}, "inputs.name"),
    ],
)
def test_nul_and_surrogates_in_process_inputs(client, town, editor, sql, inputs, name):
    r = client.post(
        "/ogc/processes/grid-merge/execution",
        content=json.dumps({"inputs": inputs}),
        headers=editor,
    )
    bad(r, name)
    assert sql("SELECT count(*) FROM grids WHERE code LIKE 'T9-%%' AND version > 1")[0][0] == 0


def test_nul_in_restore_body(client, town, editor):
    r = client.post("/api/grids/T9-A/restore", content=b'{"version": "\\u0000"}', headers=editor)
    bad(r, "version")


@pytest.mark.parametrize(
    ("method", "url", "headers"),
    [
        ("POST", ITEMS, GEOJSON),
        ("PUT", f"{ITEMS}/T9-A", GEOJSON),
        ("POST", "/ogc/processes/grid-merge/execution", {}),
        ("POST", "/api/grids/T9-A/restore", {}),
    ],
)
def test_json_nested_10000_deep(client, town, key, sql, method, url, headers):
    editor = {"X-API-Key": key(Role.GIS_EDITOR), "If-Match": '"v1"'}
    r = client.request(method, url, content=DEEP, headers={**headers, **editor})
    assert "nested deeper than 64" in bad(r, "body")["description"]
    assert sql("SELECT max(version) FROM grids WHERE code = 'T9-A'")[0][0] == 1


def test_json_65_levels_deep_is_refused_64_is_read(client, town, editor):
    """The limit is the documented 64 levels (the property path names where)."""
    deep = {"type": "Feature", "properties": {"name": "x"}, "geometry": None}
    nested: object = "x"
    for _ in range(63):
        nested = [nested]
    deep["properties"] = {"name": nested}  # 1 (feature) + 1 + 63 arrays = 65 levels
    r = client.post(ITEMS, content=json.dumps(deep), headers={**GEOJSON, **editor})
    assert bad(r)["parameter"].startswith("properties.name[0]")
    deep["properties"] = {"name": nested[0]}  # type: ignore[index]  # 64 levels: read, then typed
    r = client.post(ITEMS, content=json.dumps(deep), headers={**GEOJSON, **editor})
    bad(r, "name", 422)
