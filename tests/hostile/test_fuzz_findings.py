"""5xx the schemathesis run (tests/openapi/test_fuzz.py) found, each kept as a regression."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    "instant",
    [
        "0341-01-14T00:00:40.9+21:50",  # Python takes ±23:59, PostgreSQL only ±15:59
        "2024-05-01T08:00:00-23:59",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
    ],
)
def test_grid_diff_with_an_offset_postgres_cannot_take(client, town, instant):
    r = client.get("/api/grids/diff", params={"from": instant, "to": "2024-05-02"})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert r.json()["parameter"] == "from"
    r = client.get("/api/grids/diff", params={"from": "2024-05-01", "to": instant})
    assert r.status_code in (200, 400), r.text


@pytest.mark.parametrize("f", ["jsonld", "html", "json"])
def test_a_missing_feature_is_the_one_json_error_in_every_format(client, town, f):
    """pygeoapi answered f=jsonld's 404 as application/ld+json with its own body."""
    r = client.get(f"/ogc/collections/towns/items/no-such-town?f={f}")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/json")
    assert set(r.json()) >= {"code", "description"} and "type" not in r.json()
