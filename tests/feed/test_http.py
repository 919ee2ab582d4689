"""POST /api/feed/positions: JSON and CSV batches, counts, rejected rows, roles."""

from __future__ import annotations

import datetime as dt
import secrets

import psycopg
import psycopg2
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.auth import Role, store
from gis_server.settings import get_settings
from tests.feed.conftest import DAY


@pytest.fixture(scope="module")
def client(db_dsn):
    with TestClient(create_app(get_settings()), raise_server_exceptions=False) as c:
        yield c


def key(db_dsn: str, role: Role) -> str:
    name = f"feed-{role.label}-{secrets.token_hex(4)}"
    with psycopg2.connect(db_dsn) as conn:
        store.add_user(conn, name, role, "correct horse battery")
        _, secret, _ = store.issue_key(conn, name, "test")
    conn.close()
    return secret


def t(minute: int) -> str:
    return (DAY + dt.timedelta(minutes=minute)).isoformat()


def test_json_batch_counts_and_rejected_rows(client, db_dsn, new_vehicle):
    code, plate = new_vehicle()
    rows = [
        {"vehicle": code, "t": t(0), "lon": 121.3, "lat": 31.95, "speed": 10},
        {"vehicle": plate, "t": t(1), "lon": 121.301, "lat": 31.95},
        {"vehicle": code, "t": "yesterday", "lon": 121.3, "lat": 31.95},
        {"vehicle": "NOBODY", "t": t(2), "lon": 121.3, "lat": 31.95},
        {"vehicle": code, "t": t(0), "lon": 121.3, "lat": 31.95, "speed": 10},
    ]
    r = client.post(
        "/api/feed/positions",
        json=rows,
        headers={"Authorization": f"Bearer {key(db_dsn, Role.DISPATCHER)}"},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"]["received"] == 5 and body["counts"]["stored"] == 2
    assert [(x["index"], x["reason"]) for x in body["rejected"]] == [
        (2, "invalid"),
        (3, "unknown_vehicle"),
        (4, "duplicate"),
    ]
    assert "t:" in body["rejected"][0]["detail"]


def test_csv_batch(client, db_dsn, new_vehicle):
    code, _ = new_vehicle()
    csv = f"vehicle,t,lon,lat,speed,heading,crs\n{code},{t(0)},121.3,31.95,5,90,\n{code},{t(1)},121.3,95,,,\n"
    r = client.post(
        "/api/feed/positions",
        content=csv.encode(),
        headers={"Content-Type": "text/csv", "X-API-Key": key(db_dsn, Role.DISPATCHER)},
    )
    assert r.status_code == 200, r.text
    assert r.json()["counts"]["stored"] == 1
    assert r.json()["rejected"] == [
        {"index": 1, "reason": "invalid", "detail": "lat: out of range: 95.0"}
    ]
    with psycopg.connect(db_dsn) as conn:
        n = conn.execute(
            "SELECT count(*) FROM vehicle_positions WHERE vehicle_code = %s", (code,)
        ).fetchone()[0]
    assert n == 1


def test_roles_and_bad_bodies(client, db_dsn):
    body = [{"vehicle": "x", "t": t(0), "lon": 121.3, "lat": 31.95}]
    assert client.post("/api/feed/positions", json=body).status_code == 401
    viewer = {"Authorization": f"Bearer {key(db_dsn, Role.VIEWER)}"}
    assert client.post("/api/feed/positions", json=body, headers=viewer).status_code == 403
    disp = {"Authorization": f"Bearer {key(db_dsn, Role.DISPATCHER)}"}
    r = client.post(
        "/api/feed/positions", content=b"x", headers={**disp, "Content-Type": "text/plain"}
    )
    assert r.status_code == 415
    r = client.post(
        "/api/feed/positions", content=b"a,b\n1,2\n", headers={**disp, "Content-Type": "text/csv"}
    )
    assert r.status_code == 400 and r.json()["code"] == "InvalidBatch"
    r = client.post(
        "/api/feed/positions", content=b"[{", headers={**disp, "Content-Type": "application/json"}
    )
    assert r.status_code == 400
