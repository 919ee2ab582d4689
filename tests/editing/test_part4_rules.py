"""Part 4 writes on grids: body checks, topology rules (exact 409 bodies), ETag/If-Match,
re-assignment and audit rows."""

from __future__ import annotations

import concurrent.futures
import json

import pytest
from starlette.testclient import TestClient

from tests.editing.conftest import TOWN, etag

GEOJSON = {"Content-Type": "application/geo+json"}
ITEMS = "/ogc/collections/grids/items"


def patch(client, code, body, headers, tag=None):
    h = {**headers, "Content-Type": "application/merge-patch+json"}
    h["If-Match"] = tag or etag(client, code)
    return client.patch(f"{ITEMS}/{code}", content=json.dumps(body), headers=h)


@pytest.mark.parametrize(
    ("box", "kind", "other", "area"),
    [
        ((0, 0, 110, 100), "overlap", "T9-B", 1000.0),  # A grows 10 m into B
        ((-10, 0, 100, 100), "outside_town", TOWN, 1000.0),  # A grows 10 m out of the town
        ((0, 0, 90, 100), "gap", TOWN, 1000.0),  # A shrinks: a 10 x 100 m strip uncovered
        ((0, 0, 100, 102.5), "overlap", "T9-C", 250.0),  # 2.5 m into C
    ],
)
def test_violation_refused_with_exact_body(
    client, town, editor, square, sql, box, kind, other, area
):
    before = sql("SELECT count(*) FROM grids WHERE code LIKE 'T9-%'")[0][0]
    r = patch(client, "T9-A", {"geometry": square(*box)}, editor)
    assert r.status_code == 409, r.text
    body = r.json()
    assert body["code"] == "Conflict"
    assert len(body["violations"]) == 1, body["violations"]
    v = body["violations"][0]
    assert (v["kind"], v["other"]) == (kind, other)
    assert v["area_m2"] == pytest.approx(area, abs=0.05)
    assert v["geometry"]["type"] in ("Polygon", "MultiPolygon")
    # nothing written: no new version
    assert sql("SELECT count(*) FROM grids WHERE code LIKE 'T9-%'")[0][0] == before
    assert sql("SELECT version FROM grids WHERE code='T9-A' AND valid_to IS NULL")[0][0] == 1


def test_sub_tolerance_overlap_and_sliver_accepted(client, town, editor, square):
    # 0.005 m x 100 m = 0.5 m² overlap with B: under the 1 m² tolerance and the 0.1 m snap
    r = patch(client, "T9-A", {"geometry": square(0, 0, 100.005, 100)}, editor)
    assert r.status_code == 200, r.text


def test_thin_overlap_over_tolerance_is_a_sliver(client, town, editor, square):
    r = patch(client, "T9-A", {"geometry": square(0, 0, 100, 100.2)}, editor)
    # 0.2 x 100 = 20 m² overlap: refused (wider than snap, bigger than tolerance)
    assert r.status_code == 409
    assert r.json()["violations"][0]["area_m2"] == pytest.approx(20.0, abs=0.05)
    assert r.json()["violations"][0]["sliver"] is True  # 0.2 m wide < 1 m


@pytest.mark.parametrize(
    ("body", "prop"),
    [
        ({"type": "Feature", "properties": {"code": "T9-N", "colour": "red"}}, "colour"),
        ({"type": "Feature", "properties": {"code": "T9-N", "population": "many"}}, "population"),
        ({"type": "Feature", "properties": {"code": "T9-N", "grid_type": "magic"}}, "grid_type"),
        ({"type": "Feature", "properties": {"code": "T9-N", "version": 7}}, "version"),
        ({"type": "Feature", "properties": {"name": "no code"}}, "code"),
        (
            {
                "type": "Feature",
                "properties": {
                    "code": "T9-N",
                    "name": "n",
                    "town_code": "000",
                    "grid_type": "special",
                },
            },
            "town_code",
        ),
    ],
)
def test_invalid_bodies_name_the_property(client, town, editor, square, body, prop):
    body = {**body, "geometry": square(0, 0, 10, 10)}
    r = client.post(ITEMS, content=json.dumps(body), headers={**editor, **GEOJSON})
    assert r.status_code == 422, r.text
    assert r.json()["property"] == prop
    assert prop in r.json()["description"]


def test_wrong_and_invalid_geometry(client, town, editor):
    base = {
        "type": "Feature",
        "properties": {"code": "T9-N", "name": "n", "town_code": TOWN, "grid_type": "special"},
    }
    point = {**base, "geometry": {"type": "Point", "coordinates": [120.0, 32.0]}}
    r = client.post(ITEMS, content=json.dumps(point), headers={**editor, **GEOJSON})
    assert r.status_code == 422 and r.json()["property"] == "geometry"
    assert "Point" in r.json()["description"]
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[120, 32], [120.001, 32.001], [120.001, 32], [120, 32.001], [120, 32]]],
    }
    r = client.post(
        ITEMS, content=json.dumps({**base, "geometry": bowtie}), headers={**editor, **GEOJSON}
    )
    assert r.status_code == 422 and r.json()["property"] == "geometry"
    assert "Self-intersection" in r.json()["description"]
    r = client.post(ITEMS, content=b"{not json", headers={**editor, **GEOJSON})
    assert r.status_code == 400


def test_create_replace_delete_special_grid(client, town, editor, square, sql):
    feat = {
        "type": "Feature",
        "properties": {"code": "T9-S", "name": "专属", "town_code": TOWN, "grid_type": "special"},
        "geometry": square(0, 0, 100, 100),
    }
    r = client.post(ITEMS, content=json.dumps(feat), headers={**editor, **GEOJSON})
    assert r.status_code == 201, r.text
    assert r.headers["location"].endswith("/ogc/collections/grids/items/T9-S")
    assert r.headers["etag"] == '"v1"'
    assert (
        client.post(ITEMS, content=json.dumps(feat), headers={**editor, **GEOJSON}).status_code
        == 409
    )
    feat["properties"]["name"] = "专属2"
    r = client.put(
        f"{ITEMS}/T9-S", content=json.dumps(feat), headers={**editor, **GEOJSON, "If-Match": '"v1"'}
    )
    assert r.status_code == 200 and r.headers["etag"] == '"v2"'
    assert r.json()["properties"]["name"] == "专属2"
    r = client.delete(f"{ITEMS}/T9-S", headers={**editor, "If-Match": '"v2"'})
    assert r.status_code == 204
    assert sql("SELECT count(*) FROM grids WHERE code='T9-S' AND valid_to IS NULL")[0][0] == 0
    assert sql("SELECT count(*) FROM grids WHERE code='T9-S'")[0][0] == 2  # history kept
    assert (
        client.delete(f"{ITEMS}/T9-NOPE", headers={**editor, "If-Match": '"v1"'}).status_code == 404
    )


def test_deleting_a_comprehensive_grid_leaves_a_gap(client, town, editor):
    r = client.delete(f"{ITEMS}/T9-A", headers={**editor, "If-Match": etag(client, "T9-A")})
    assert r.status_code == 409
    [v] = r.json()["violations"]
    assert v["kind"] == "gap" and v["area_m2"] == pytest.approx(10000.0, abs=0.1)


def test_if_match_required_and_stale(client, town, editor):
    body = json.dumps({"properties": {"worker_name": "张三"}})
    h = {**editor, "Content-Type": "application/merge-patch+json"}
    r = client.patch(f"{ITEMS}/T9-A", content=body, headers=h)
    assert r.status_code == 428
    assert (
        patch(client, "T9-A", {"properties": {"worker_name": "张三"}}, editor, '"v1"').status_code
        == 200
    )
    r = patch(client, "T9-A", {"properties": {"worker_name": "李四"}}, editor, '"v1"')
    assert r.status_code == 412
    assert r.json()["current_version"] == 2


def test_two_editors_race_one_gets_412(client, town, key, sql):
    from gis_server.auth import Role

    tag = etag(client, "T9-A")
    headers = [{"X-API-Key": key(Role.GIS_EDITOR)} for _ in range(2)]

    def edit(i: int) -> int:
        h = {**headers[i], "Content-Type": "application/merge-patch+json", "If-Match": tag}
        return client.patch(
            f"{ITEMS}/T9-A", content=json.dumps({"properties": {"worker_name": f"w{i}"}}), headers=h
        ).status_code

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        codes = sorted(pool.map(edit, range(2)))
    assert codes == [200, 412]
    assert sql("SELECT max(version) FROM grids WHERE code='T9-A'")[0][0] == 2


def test_reassignment_counts_equal_sql_and_audit(client, town, editor, square, sql):
    # A and B: move the shared boundary from x=100 to x=90 via PUT-like PATCHes is two
    # writes; use the process instead so both change in one transaction.
    r = client.post(
        "/ogc/processes/grid-reshape/execution",
        json={"inputs": {"codes": ["T9-B", "T9-A"], "geometry": square(90, 0, 200, 100)}},
        headers=editor,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    # CAM1 (95,50) moved A -> B; CAM2 stays; EV1 (open) moved; EV2 (closed) not
    assert sql(
        "SELECT code FROM cameras WHERE code LIKE 'T9-%%' AND grid_code = 'T9-B' ORDER BY code"
    ) == [("T9-CAM1",), ("T9-CAM3",)]
    assert out["reassigned"] == {"cameras": 1, "events": 1}
    assert sql("SELECT grid_code FROM events WHERE code='T9-EV1'")[0][0] == "T9-B"
    assert sql("SELECT grid_code FROM events WHERE code='T9-EV2'")[0][0] == "T9-A"
    areas = {o["code"]: o["area_m2"] for o in out["opened"]}
    assert areas["T9-A"] == pytest.approx(9000, abs=0.01) and areas["T9-B"] == pytest.approx(
        11000, abs=0.01
    )
    rows = sql(
        "SELECT feature_id, action, before->'properties'->>'version', after->'properties'->>'version', actor "
        "FROM audit_log WHERE layer='grids' AND feature_id IN ('T9-A','T9-B') ORDER BY id DESC LIMIT 2"
    )
    assert sorted(r[:4] for r in rows) == [
        ("T9-A", "grid-reshape", "1", "2"),
        ("T9-B", "grid-reshape", "1", "2"),
    ]
    assert rows[0][4].startswith("ed-gis")


def test_etag_on_get_and_public_reads(client: TestClient, town):
    r = client.get(f"{ITEMS}/T9-A?f=json")
    assert r.status_code == 200 and r.headers["etag"] == '"v1"'
    r = client.get("/ogc/conformance?f=json")
    conf = r.json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/create-replace-delete" in conf
    assert "http://www.opengis.net/spec/ogcapi-features-4/1.0/conf/update" in conf
