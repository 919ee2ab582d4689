"""History (datetime instants, diff, restore), split/merge, the district check and the
import path — against hand-computed answers on town T9."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gis_server.auth import Role
from tests.editing.conftest import TOWN, envelope_sql

EXEC = "/ogc/processes/{}/execution"


def _now(sql) -> str:
    return sql("SELECT now()::text")[0][0]


def _areas(client, when: str | None) -> dict[str, float]:
    q = "/ogc/collections/grids/items?f=json&limit=100&bbox=119.99,31.9,120.01,32.1"
    if when:
        q += f"&datetime={when.replace('+', '%2B').replace(' ', 'T')}"
    feats = client.get(q).json()["features"]
    return {f["id"]: f["properties"]["version"] for f in feats if f["id"].startswith("T9-")}


def test_reshape_by_line_history_datetime_diff_restore(client, town, editor, line, sql):
    r = client.post(
        EXEC.format("grid-reshape"),
        json={"inputs": {"codes": ["T9-A", "T9-B"], "boundary": line((110, -5), (110, 105))}},
        headers=editor,
    )
    assert r.status_code == 200, r.text
    areas = {o["code"]: o["area_m2"] for o in r.json()["opened"]}
    assert areas == {"T9-A": pytest.approx(11000, abs=0.01), "T9-B": pytest.approx(9000, abs=0.01)}
    t1 = _now(sql)
    # the layout in force at an instant: [valid_from, valid_to)
    assert _areas(client, "2021-06-01T00:00:00Z") == {"T9-A": 1, "T9-B": 1, "T9-C": 1, "T9-D": 1}
    assert _areas(client, t1) == {"T9-A": 2, "T9-B": 2, "T9-C": 1, "T9-D": 1}
    assert _areas(client, "2019-01-01T00:00:00Z") == {}
    assert _areas(client, None) == {"T9-A": 2, "T9-B": 2, "T9-C": 1, "T9-D": 1}
    # diff 2021 → after the edit
    d = client.get(
        "/api/grids/diff", params={"from": "2021-01-01", "to": t1.replace(" ", "T")}
    ).json()
    mine = [e for e in d["reshaped"] if e["code"].startswith("T9-")]
    assert [(e["code"], e["area_change_m2"], e["area_moved_m2"]) for e in mine] == [
        ("T9-A", pytest.approx(1000, abs=0.01), pytest.approx(1000, abs=0.01)),
        ("T9-B", pytest.approx(-1000, abs=0.01), pytest.approx(1000, abs=0.01)),
    ]
    assert not [e for e in d["added"] + d["removed"] if e["code"].startswith("T9-")]
    # restore needs both back: restoring A alone to v1 leaves a 10 m gap → 409 gap 1000 m²
    r = client.post("/api/grids/T9-A/restore", json={"version": 1}, headers=editor)
    assert r.status_code == 409
    [v] = r.json()["violations"]
    assert v["kind"] == "gap" and v["area_m2"] == pytest.approx(1000, abs=0.05)
    r = client.post("/api/grids/T9-B/restore", json={"version": 1}, headers=editor)
    assert r.status_code == 409 and r.json()["violations"][0]["kind"] == "overlap"
    hist = client.get("/api/grids/T9-A/history").json()["versions"]
    assert [h["version"] for h in hist] == [1, 2] and hist[0]["valid_to"] is not None


def test_split_then_merge_and_diff_added_removed(client, town, editor, line, sql):
    r = client.post(
        EXEC.format("grid-split"),
        json={
            "inputs": {
                "code": "T9-A",
                "line": line((30, -5), (30, 105)),
                "new_codes": ["T9-A1", "T9-A2"],
            }
        },
        headers=editor,
    )
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["closed"] == [{"code": "T9-A", "version": 1}]
    assert {o["code"]: round(o["area_m2"]) for o in out["opened"]} == {"T9-A1": 7000, "T9-A2": 3000}
    pops = dict(
        sql(
            "SELECT code, population FROM grids WHERE code IN ('T9-A1','T9-A2') AND valid_to IS NULL"
        )
    )
    assert pops == {"T9-A1": 70, "T9-A2": 30}
    # the camera at (50, 50) and the open event at (95, 20) now belong to T9-A1
    assert sql("SELECT count(*) FROM cameras WHERE grid_code = 'T9-A'")[0][0] == 0
    assert out["reassigned"]["cameras"] == 2 and out["reassigned"]["events"] == 1
    t1 = _now(sql).replace(" ", "T")
    d = client.get("/api/grids/diff", params={"from": "2021-01-01T00:00:00+08:00", "to": t1}).json()
    assert [e["code"] for e in d["removed"] if e["code"].startswith("T9")] == ["T9-A"]
    assert sorted(e["code"] for e in d["added"] if e["code"].startswith("T9")) == ["T9-A1", "T9-A2"]
    r = client.post(
        EXEC.format("grid-merge"),
        json={"inputs": {"codes": ["T9-A1", "T9-A2"], "into": "T9-A", "name": "网格A"}},
        headers=editor,
    )
    assert r.status_code == 200, r.text
    assert r.json()["opened"] == [
        {"code": "T9-A", "version": 2, "area_m2": pytest.approx(10000, abs=0.01)}
    ]
    assert sql("SELECT population FROM grids WHERE code='T9-A' AND valid_to IS NULL")[0][0] == 100
    # merging grids of different types is refused
    sql(
        f"INSERT INTO grids (code, name, town_code, grid_type, geom) VALUES ('T9-S', 's', %s, 'special', {envelope_sql(0, 0, 100, 100)}) RETURNING 1",
        (TOWN,),
    )
    r = client.post(
        EXEC.format("grid-merge"),
        json={"inputs": {"codes": ["T9-A", "T9-S"], "into": "T9-A"}},
        headers=editor,
    )
    assert r.status_code == 409


def test_processes_listed_and_bad_inputs(client, town, editor):
    ids = [p["id"] for p in client.get("/ogc/processes").json()["processes"]]
    assert ids == ["grid-reshape", "grid-split", "grid-merge"]
    assert "inputs" in client.get("/ogc/processes/grid-split").json()
    assert client.get("/ogc/processes/nope").status_code == 404
    r = client.post(
        EXEC.format("grid-split"), json={"inputs": {"code": "T9-A", "colour": 1}}, headers=editor
    )
    assert r.status_code == 400 and "colour" in r.json()["description"]
    r = client.post(
        EXEC.format("grid-split"),
        json={
            "inputs": {
                "code": "T9-NOPE",
                "line": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
            }
        },
        headers=editor,
    )
    assert r.status_code == 404
    r = client.post(
        EXEC.format("grid-merge"),
        json={"inputs": {"codes": ["T9-A", "T9-B"], "into": "T9-A", "versions": {"T9-A": 7}}},
        headers=editor,
    )
    assert r.status_code == 412


def test_check_report_api_and_cli(client, town, sql, db_dsn, key):
    assert client.get("/api/grids/check").status_code == 401  # seconds of work: signed in
    viewer = {"X-API-Key": key(Role.VIEWER)}
    r = client.get("/api/grids/check", headers=viewer)
    assert r.status_code == 200
    # kept for the grids' version: the same report (its elapsed_ms too), not a second run
    assert client.get("/api/grids/check", headers=viewer).json() == r.json()
    mine = [v for v in r.json()["violations"] if v["town_code"] == TOWN]
    assert mine == []
    # a bad layout written behind the API's back: an overlap of 10 x 100 m between specials
    sql(
        f"INSERT INTO grids (code, name, town_code, grid_type, geom) VALUES ('T9-S', 's', %s, 'special', {envelope_sql(0, 0, 110, 100)}), ('T9-S3', 's', %s, 'special', {envelope_sql(100, 0, 200, 100)}) RETURNING 1",
        (TOWN, TOWN),
    )
    # the report kept for the grids' old version is not served for the new one
    again = client.get("/api/grids/check", headers=viewer).json()
    assert any(v["code"] == "T9-S" for v in again["violations"])
    r = client.get("/api/grids/check", params={"type": "special"}, headers=viewer).json()
    mine = [v for v in r["violations"] if v["town_code"] == TOWN]
    assert [(v["kind"], v["code"], v["other"], round(v["area_m2"], 1)) for v in mine] == [
        ("overlap", "T9-S", "T9-S3", 1000.0)
    ]
    onemap = Path(sys.executable).parent / "onemap"
    env = {"DATABASE_URL": db_dsn, "PATH": "/usr/bin:/bin"}
    p = subprocess.run(
        [str(onemap), "grids", "check", "--type", "special"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 1, p.stderr
    assert "T9-S / T9-S3 1000.0 m²" in p.stdout
    p = subprocess.run(
        [str(onemap), "grids", "check", "--type", "comprehensive"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert p.returncode == 0, p.stdout


def test_import_goes_through_the_rules(town, db_dsn, square, tmp_path, sql):
    from etl.errors import EtlError
    from etl.vector_import import ImportOptions, import_vector

    feat = {
        "type": "Feature",
        "properties": {
            "code": "T9-A",
            "name": "网格A",
            "town_code": TOWN,
            "grid_type": "comprehensive",
        },
        "geometry": square(0, 0, 120, 100),
    }
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [feat]}), encoding="utf-8")
    try:
        result = import_vector(db_dsn, "grids", path, ImportOptions(user="test"))
        reasons = [r.reason for r in result.rejects]
    except EtlError as exc:
        reasons = [str(exc)] + [r.reason for r in getattr(exc, "rejects", [])]
    assert any("overlap" in r and "T9-B" in r for r in reasons), reasons
    assert sql("SELECT max(version) FROM grids WHERE code='T9-A'")[0][0] == 1
