"""API keys (Bearer and X-API-Key), revocation and expiry, the role matrix,
and the middleware's path policy."""

from __future__ import annotations

import psycopg2
import pytest
from starlette.testclient import TestClient

from gis_server.auth import LAYER_WRITE_ROLES, Role, required_role, store
from tests.auth.conftest import build_app, with_settings

WRITE_PATHS = ("/write/grids", "/ogc/collections/grids/items")


def test_bearer_and_x_api_key(client, make_key):
    key = make_key(Role.DISPATCHER)
    for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
        r = client.get("/api/auth/me", headers=headers)
        assert r.status_code == 200, headers
        assert r.json()["role"] == "dispatcher" and r.json()["method"] == "api_key"
        assert "csrf_token" not in r.json()
        # keys need no CSRF token
        assert client.post("/write/events", headers=headers).status_code == 201


@pytest.mark.parametrize(
    "bad",
    ["om_000000000000_nope", "garbage", "Basic dXNlcjpwYXNz"],
)
def test_unknown_or_malformed_key_is_401(client, bad):
    r = client.post("/write/grids", headers={"X-API-Key": bad})
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert r.json()["code"] == "NotAuthenticated"


def test_tampered_secret_of_a_real_key_id_is_401(client, make_key):
    key = make_key(Role.ADMIN)
    assert client.get("/api/auth/me", headers={"X-API-Key": key}).status_code == 200
    assert client.get("/api/auth/me", headers={"X-API-Key": key[:-2] + "xx"}).status_code == 401


def test_revoked_key_is_401(client, db_dsn, make_key):
    key = make_key(Role.ADMIN)
    headers = {"Authorization": f"Bearer {key}"}
    assert client.post("/write/grids", headers=headers).status_code == 201
    with psycopg2.connect(db_dsn) as conn:
        store.revoke_key(conn, key.split("_")[1])
    conn.close()
    r = client.post("/write/grids", headers=headers)
    assert r.status_code == 401 and "revoked" in r.json()["description"]


def test_expired_key_is_401(client, db_dsn, make_user):
    with psycopg2.connect(db_dsn) as conn:
        key_id, key, expires_at = store.issue_key(conn, make_user(Role.ADMIN), "t", 1)
    assert expires_at is not None
    headers = {"X-API-Key": key}
    assert client.get("/api/auth/me", headers=headers).status_code == 200
    with conn, conn.cursor() as cur:
        cur.execute(
            "UPDATE api_keys SET expires_at = now() - interval '1 second' WHERE key_id = %s",
            (key_id,),
        )
    conn.close()
    assert client.get("/api/auth/me", headers=headers).status_code == 401


def test_key_of_disabled_user_is_401(client, db_dsn, make_user):
    with psycopg2.connect(db_dsn) as conn:
        name = make_user(Role.ADMIN)
        _, key, _ = store.issue_key(conn, name, "t")
        store.disable_user(conn, name)
    conn.close()
    assert client.get("/api/auth/me", headers={"X-API-Key": key}).status_code == 401


@pytest.mark.parametrize("path", WRITE_PATHS)
@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (None, 401),
        (Role.VIEWER, 403),
        (Role.DISPATCHER, 403),
        (Role.GIS_EDITOR, 201),
        (Role.ADMIN, 201),
    ],
)
def test_role_matrix_for_a_gis_editor_layer(client, make_key, path, role, expected):
    headers = {"X-API-Key": make_key(role)} if role else {}
    r = client.post(path, headers=headers)
    assert r.status_code == expected, r.text
    if expected == 401:
        assert r.headers["www-authenticate"].startswith("Bearer")
    if expected in (401, 403):
        assert set(r.json()) == {"code", "description"}


def test_events_are_written_by_dispatchers_and_unlisted_layers_by_admins(client, make_key):
    viewer, dispatcher = make_key(Role.VIEWER), make_key(Role.DISPATCHER)
    editor, admin = make_key(Role.GIS_EDITOR), make_key(Role.ADMIN)
    assert client.post("/write/events", headers={"X-API-Key": viewer}).status_code == 403
    assert client.post("/write/events", headers={"X-API-Key": dispatcher}).status_code == 201
    assert client.post("/write/towns", headers={"X-API-Key": editor}).status_code == 403
    assert client.post("/write/towns", headers={"X-API-Key": admin}).status_code == 201


def test_write_permission_map():
    assert LAYER_WRITE_ROLES == {
        "grids": Role.GIS_EDITOR,
        "river_patrol_zones": Role.GIS_EDITOR,
        "cameras": Role.GIS_EDITOR,
        "events": Role.DISPATCHER,
    }


@pytest.mark.parametrize(
    ("method", "path", "public", "role"),
    [
        ("GET", "/ogc/collections", True, None),
        ("GET", "/ogc/collections", False, Role.VIEWER),
        ("HEAD", "/api/events", False, Role.VIEWER),
        ("GET", "/healthz", False, None),
        ("GET", "/console", False, None),
        ("POST", "/api/auth/login", False, None),
        ("OPTIONS", "/ogc/collections/grids/items", False, None),
        ("POST", "/ogc/collections/grids/items", True, Role.GIS_EDITOR),
        ("PUT", "/ogc/collections/events/items/E1", True, Role.DISPATCHER),
        ("DELETE", "/ogc/collections/vehicles/items/V1", True, Role.ADMIN),
        ("POST", "/ogc/processes/buffer/execution", True, Role.VIEWER),
        ("POST", "/ogc/collections/grids", True, Role.ADMIN),
        ("PATCH", "/api/events/E1", True, Role.VIEWER),
        ("GET", "/ogcx", False, None),
    ],
)
def test_required_role_policy(method, path, public, role):
    assert required_role(method, path, public) is role


def test_private_reads(app_settings, make_key):
    with TestClient(build_app(with_settings(app_settings, public_reads=False))) as c:
        r = c.get("/ogc/collections")
        assert r.status_code == 401 and r.json()["code"] == "NotAuthenticated"
        assert c.get("/healthz").status_code == 200
        assert c.get("/ogc/collections", headers={"X-API-Key": make_key()}).status_code == 200
    with TestClient(build_app(with_settings(app_settings, public_reads=True))) as c:
        assert c.get("/ogc/collections").status_code == 200
