"""Every write route × every role: anonymous 401, too-low role 403, enough role succeeds;
plus session cookie + CSRF."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from gis_server.auth import Role
from tests.editing.conftest import TOWN

GEO = {"Content-Type": "application/geo+json"}
MERGE = {"Content-Type": "application/merge-patch+json"}
Request = tuple[str, str, dict[str, str], Any]


def _grid_post(square) -> Request:
    feat = {
        "type": "Feature",
        "properties": {"code": "T9-S2", "name": "s", "town_code": TOWN, "grid_type": "special"},
        "geometry": square(0, 0, 50, 50),
    }
    return "POST", "/ogc/collections/grids/items", GEO, feat


def _event(code: str) -> dict[str, Any]:
    """An event as Part 4 may write it: no loop column (status, department, due time …)."""
    return {
        "type": "Feature",
        "properties": {
            "code": code, "title": "占道经营", "source": "hotline_12345", "category": "市容",
            "created_at": "2024-05-01T08:00:00+08:00",
        },
        "geometry": {"type": "Point", "coordinates": [120.0005, 31.99]},
    }  # fmt: skip


ROUTES: dict[str, tuple[str, Callable[..., Request], int]] = {
    # name: (layer, request factory, success status)
    "grid-post": ("grids", lambda sq, ln: _grid_post(sq), 201),
    "grid-put": ("grids", lambda sq, ln: ("PUT", "/ogc/collections/grids/items/T9-A", {**GEO, "If-Match": '"v1"'}, {
        "type": "Feature", "properties": {"name": "A2", "town_code": TOWN, "grid_type": "comprehensive"},
        "geometry": sq(0, 0, 100, 100)}), 200),
    "grid-patch": ("grids", lambda sq, ln: ("PATCH", "/ogc/collections/grids/items/T9-A", {**MERGE, "If-Match": '"v1"'},
        {"properties": {"worker_name": "王五"}}), 200),
    "grid-delete": ("grids", lambda sq, ln: ("DELETE", "/ogc/collections/grids/items/T9-S", {"If-Match": '"v1"'}, None), 204),
    "reshape": ("grids", lambda sq, ln: ("POST", "/ogc/processes/grid-reshape/execution", {}, {
        "inputs": {"codes": ["T9-A", "T9-B"], "boundary": ln((110, -5), (110, 105))}}), 200),
    "split": ("grids", lambda sq, ln: ("POST", "/ogc/processes/grid-split/execution", {}, {
        "inputs": {"code": "T9-A", "line": ln((50, -5), (50, 105))}}), 200),
    "merge": ("grids", lambda sq, ln: ("POST", "/ogc/processes/grid-merge/execution", {}, {
        "inputs": {"codes": ["T9-A", "T9-B"], "into": "T9-A"}}), 200),
    "restore": ("grids", lambda sq, ln: ("POST", "/api/grids/T9-A/restore", {}, {"version": 1}), 200),
    "event-post": ("events", lambda sq, ln: ("POST", "/ogc/collections/events/items", GEO, _event("T9-EV9")), 201),
    "event-put": ("events", lambda sq, ln: ("PUT", "/ogc/collections/events/items/T9-EV1", GEO,
        _event("T9-EV1")), 200),
    "event-patch": ("events", lambda sq, ln: ("PATCH", "/ogc/collections/events/items/T9-EV1", MERGE,
        {"properties": {"title": "占道经营(已核实)"}}), 200),
    "event-delete": ("events", lambda sq, ln: ("DELETE", "/ogc/collections/events/items/T9-EV1", {}, None), 204),
}  # fmt: skip

ROLES = [None, Role.VIEWER, Role.DISPATCHER, Role.GIS_EDITOR, Role.ADMIN]


def _expected(layer: str, role: Role | None, ok: int) -> int:
    if role is None:
        return 401
    need = Role.DISPATCHER if layer == "events" else Role.GIS_EDITOR
    return ok if role >= need else 403


@pytest.fixture()
def special(town, sql) -> None:
    from tests.editing.conftest import envelope_sql

    sql(
        "INSERT INTO grids (code, name, town_code, grid_type, geom) VALUES "
        f"('T9-S', 's', %s, 'special', {envelope_sql(100, 0, 200, 100)}) RETURNING 1",
        (TOWN,),
    )


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.label if r else "anonymous")
@pytest.mark.parametrize("route", list(ROUTES))
def test_matrix(client: TestClient, special, key, square, line, sql, route, role):
    layer, make, ok = ROUTES[route]
    method, path, headers, body = make(square, line)
    if role is not None:
        headers = {**headers, "X-API-Key": key(role)}
    audits = sql("SELECT count(*) FROM audit_log")[0][0]
    r = client.request(
        method, path, headers=headers, content=None if body is None else json.dumps(body)
    )
    assert r.status_code == _expected(layer, role, ok), r.text
    written = sql("SELECT count(*) FROM audit_log")[0][0] - audits
    if r.status_code < 300:
        assert written >= 1  # every successful write is audited
    else:
        assert written == 0


def test_session_cookie_needs_csrf(client: TestClient, town, db_dsn):
    import psycopg2

    from gis_server.auth import store

    with psycopg2.connect(db_dsn) as conn:
        store.add_user(conn, "ed-session-user", Role.GIS_EDITOR, "correct horse battery")
    conn.close()
    r = client.post(
        "/api/auth/login", json={"username": "ed-session-user", "password": "correct horse battery"}
    )
    assert r.status_code == 200
    csrf = r.json()["csrf_token"]
    body = json.dumps({"properties": {"worker_name": "赵六"}})
    h = {**MERGE, "If-Match": '"v1"'}
    r = client.patch("/ogc/collections/grids/items/T9-A", content=body, headers=h)
    assert r.status_code == 403 and r.json()["code"] == "CsrfTokenMissingOrWrong"
    r = client.patch(
        "/ogc/collections/grids/items/T9-A", content=body, headers={**h, "X-CSRF-Token": csrf}
    )
    assert r.status_code == 200, r.text
    client.cookies.clear()


def test_bearer_key_and_reporter_data_not_writable(client, town, key):
    h = {**GEO, "Authorization": f"Bearer {key(Role.DISPATCHER)}"}
    feat = _event("T9-EV8")
    feat["properties"]["reporter_phone"] = "13800000000"
    r = client.post("/ogc/collections/events/items", content=json.dumps(feat), headers=h)
    assert r.status_code == 422 and r.json()["property"] == "reporter_phone"
    feat["properties"].pop("reporter_phone")
    r = client.post("/ogc/collections/events/items", content=json.dumps(feat), headers=h)
    assert r.status_code == 201, r.text
    assert "reporter_phone" not in r.json()["properties"]
    assert r.headers["etag"].startswith('"u')


@pytest.mark.parametrize("prop", ["status", "department_code", "due_at", "closed_at"])
def test_part4_cannot_move_an_event_through_its_loop(client, town, key, prop):
    """Only POST /api/events/{code}/actions changes an event's state or assignment."""
    h = {"Authorization": f"Bearer {key(Role.ADMIN)}"}
    value = {"status": "closed", "department_code": "D9-WATER"}.get(
        prop, "2026-12-01T08:00:00+08:00"
    )
    patch = {"properties": {prop: value}}
    r = client.patch("/ogc/collections/events/items/T9-EV1", content=json.dumps(patch),
                     headers={**MERGE, **h})  # fmt: skip
    assert r.status_code == 422, r.text
    assert r.json()["property"] == prop and "actions" in r.json()["description"]
    feat = _event("T9-EV7")
    feat["properties"][prop] = value
    r = client.post("/ogc/collections/events/items", content=json.dumps(feat), headers={**GEO, **h})
    assert r.status_code == 422 and r.json()["property"] == prop
    r = client.put("/ogc/collections/events/items/T9-EV1", content=json.dumps(_event("T9-EV1")),
                   headers={**GEO, **h})  # fmt: skip
    assert r.status_code == 200, r.text  # a PUT leaves the loop columns it may not send alone
    assert r.json()["properties"]["status"] == "accepted"
