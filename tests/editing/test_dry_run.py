"""Dry runs (processes `"dry_run": true`, Part 4 `?dry_run=true`) write nothing, and a
grid with no open version is 404 without datetime — on town T9."""

from __future__ import annotations

import pytest

from tests.editing.conftest import etag

EXEC = "/ogc/processes/{}/execution"


def _state(sql) -> list[tuple]:
    """Every T9 grid row, plus audit rows and camera assignments: what a write would change."""
    grids = sql(
        "SELECT code, version, valid_to IS NULL FROM grids WHERE code LIKE 'T9-%' ORDER BY 1, 2"
    )
    audits = sql("SELECT count(*) FROM audit_log WHERE feature_id LIKE 'T9-%'")
    cams = sql("SELECT code, grid_code FROM cameras WHERE code LIKE 'T9-%' ORDER BY 1")
    return [*grids, *audits, *cams]


def test_split_dry_run_reports_result_and_writes_nothing(client, town, editor, line, sql):
    before = _state(sql)
    inputs = {"code": "T9-A", "line": line((30, -5), (30, 105)), "new_codes": ["T9-A1", "T9-A2"]}
    r = client.post(
        EXEC.format("grid-split"), json={"inputs": {**inputs, "dry_run": True}}, headers=editor
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["dry_run"] is True
    assert out["closed"] == [{"code": "T9-A", "version": 1}]
    assert {o["code"]: o["area_m2"] for o in out["opened"]} == {
        "T9-A1": pytest.approx(7000, abs=0.01),
        "T9-A2": pytest.approx(3000, abs=0.01),
    }
    assert _state(sql) == before
    # the real run gives the same answer and writes
    r = client.post(EXEC.format("grid-split"), json={"inputs": inputs}, headers=editor)
    assert r.status_code == 200 and "dry_run" not in r.json()
    assert r.json()["opened"] == out["opened"]
    assert _state(sql) != before


def test_reshape_dry_run_violation_is_the_same_409(client, town, editor, square, sql):
    before = _state(sql)
    # A grows over C's lower half: B keeps the rest of A∪B, so C is overlapped
    body = {"codes": ["T9-A", "T9-B"], "geometry": square(0, 0, 100, 150)}
    for dry in (True, False):
        r = client.post(
            EXEC.format("grid-reshape"), json={"inputs": {**body, "dry_run": dry}}, headers=editor
        )
        assert r.status_code == 409, r.text
        doc = r.json()
        assert doc["code"] == "Conflict" and doc["violations"]
        assert {v["kind"] for v in doc["violations"]} >= {"overlap"}
        assert all(v["geometry"]["type"] for v in doc["violations"])
    assert _state(sql) == before


def test_merge_dry_run_and_bad_flag(client, town, editor, sql):
    before = _state(sql)
    inputs = {"codes": ["T9-A", "T9-B"], "into": "T9-A", "dry_run": True}
    r = client.post(EXEC.format("grid-merge"), json={"inputs": inputs}, headers=editor)
    assert r.status_code == 200, r.text
    assert r.json()["reassigned"]["cameras"] >= 1 and r.json()["dry_run"] is True
    assert _state(sql) == before
    r = client.post(
        EXEC.format("grid-merge"), json={"inputs": {**inputs, "dry_run": "yes"}}, headers=editor
    )
    assert r.status_code == 400 and "dry_run" in r.text


def test_patch_dry_run(client, town, editor, square, sql):
    before = _state(sql)
    tag = etag(client, "T9-A")
    url = "/ogc/collections/grids/items/T9-A"
    hdr = {**editor, "If-Match": tag, "Content-Type": "application/merge-patch+json"}
    # a rename alone is fine: the would-be version 2, no ETag header, nothing written
    r = client.patch(url + "?dry_run=true", json={"properties": {"name": "新名"}}, headers=hdr)
    assert r.status_code == 200, r.text
    doc = r.json()
    assert doc["onemap:dry_run"] is True and doc["properties"]["version"] == 2
    assert doc["properties"]["name"] == "新名" and "etag" not in r.headers
    # a geometry overlapping B: the same 409 body as the real write
    bad = {"geometry": square(0, 0, 150, 100)}
    r = client.patch(url + "?dry_run=true", json=bad, headers=hdr)
    assert r.status_code == 409 and r.json()["violations"][0]["kind"] == "overlap"
    # stale If-Match is still 412, unknown flag values 400
    r = client.patch(url + "?dry_run=true", json=bad, headers={**hdr, "If-Match": '"v9"'})
    assert r.status_code == 412
    r = client.patch(url + "?dry_run=maybe", json=bad, headers=hdr)
    assert r.status_code == 400 and "dry_run" in r.text
    assert _state(sql) == before and etag(client, "T9-A") == tag


@pytest.mark.parametrize("f", ["json", "html"])
def test_merged_away_grid_is_404_without_datetime(client, town, editor, sql, f):
    r = client.post(
        EXEC.format("grid-merge"),
        json={"inputs": {"codes": ["T9-A", "T9-B"], "into": "T9-A"}},
        headers=editor,
    )
    assert r.status_code == 200, r.text
    assert sql("SELECT count(*) FROM grids WHERE code = 'T9-B' AND valid_to IS NULL")[0][0] == 0
    r = client.get(f"/ogc/collections/grids/items/T9-B?f={f}")
    assert r.status_code == 404, r.text
    if f == "json":  # with a datetime: the version in force then
        r = client.get("/ogc/collections/grids/items/T9-B?f=json&datetime=2021-01-01T00:00:00Z")
        assert r.status_code == 200 and r.json()["properties"]["version"] == 1
        r = client.get("/ogc/collections/grids/items/T9-B?f=json&datetime=2019-01-01T00:00:00Z")
        assert r.status_code == 404
        r = client.get("/ogc/collections/grids/items/T9-A?f=json")
        assert r.status_code == 200 and r.json()["properties"]["version"] == 2
        # cameras have no time: datetime keeps every version (OGC /req/core/fc-time-response)
        r = client.get("/ogc/collections/cameras/items/x?f=json&datetime=2021-01-01")
        assert r.status_code == 404
