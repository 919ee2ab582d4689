"""The role × route matrix, generated from the route table (a new write route cannot be
forgotten): every write operation of both documents × anonymous and every `Role`.

Below the route's least role: 401 (anonymous, or a dead key) / 403; at or above: anything
but 401/403 (the probe body `{}` and a feature id that does not exist make the handler
refuse it for its own reasons — 400, 404, 415, 422 — after authorising). A cookie session
needs its CSRF token on every write.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable

import psycopg2
import pytest

from gis_server.app import create_app
from gis_server.auth import Role, store
from gis_server.openapi import api_operations, ogc_operations
from gis_server.openapi.build import OPEN_PATHS, SAFE, Operation
from gis_server.settings import get_settings

PROBE_ID = "matrix-probe-0"


def write_operations() -> list[Operation]:
    """Every unsafe operation of the app: its /api routes and its OGC routes (under /ogc)."""
    routes = create_app(get_settings()).routes  # routes only: nothing connects
    ops = [op for op in api_operations(routes) if op.method not in SAFE]
    ops += [Operation("/ogc" + op.path, op.method, op.doc) for op in ogc_operations()]
    return [op for op in ops if op.method not in SAFE and op.path not in OPEN_PATHS]


WRITES = write_operations()
ROLES: list[Role | None] = [None, *Role]


def _url(op: Operation) -> str:
    return re.sub(r"{[^}]+}", PROBE_ID, op.path)


def _send(client, op: Operation, headers: dict[str, str]):  # noqa: ANN001, ANN202
    return client.request(
        op.method,
        _url(op),
        content=b"{}",
        headers={"Content-Type": "application/json", "If-Match": '"v1"', **headers},
    )


@pytest.fixture(scope="module")
def keys(openapi_settings) -> dict[Role, str]:
    out = {}
    with psycopg2.connect(openapi_settings.database.dsn) as conn:
        for role in Role:
            name = f"matrix-{role.label.replace('_', '-')}-{secrets.token_hex(3)}"
            store.add_user(conn, name, role, "correct horse battery")
            out[role] = store.issue_key(conn, name, "matrix")[1]
    conn.close()
    return out


def test_every_write_route_declares_its_role():
    assert WRITES, "no write routes found"
    undeclared = [(op.method, op.path) for op in WRITES if op.doc.role is None]
    assert undeclared == []


@pytest.mark.parametrize("role", ROLES, ids=lambda r: r.label if r else "anonymous")
@pytest.mark.parametrize("op", WRITES, ids=lambda op: f"{op.method} {op.path}")
def test_matrix(app_client, keys, op: Operation, role: Role | None):
    headers = {"X-API-Key": keys[role]} if role is not None else {}
    r = _send(app_client, op, headers)
    if role is None:
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"].startswith("Bearer")
    elif role < op.doc.role:
        assert r.status_code == 403, r.text
    else:
        assert r.status_code not in (401, 403), r.text
    assert r.status_code < 500, r.text
    assert r.json()["code"]  # the one error body (no probe succeeds)


@pytest.mark.parametrize("op", WRITES, ids=lambda op: f"{op.method} {op.path}")
def test_a_dead_key_is_401(app_client, op: Operation):
    r = _send(app_client, op, {"Authorization": f"Bearer {secrets.token_urlsafe(24)}"})
    assert r.status_code == 401, r.text


@pytest.fixture(scope="module")
def session(app_client, openapi_settings) -> Callable[[], str]:
    """Log an admin in with a cookie; returns its CSRF token (the cookie is on the client)."""
    name = f"matrix-admin-{secrets.token_hex(3)}"
    with psycopg2.connect(openapi_settings.database.dsn) as conn:
        store.add_user(conn, name, Role.ADMIN, "correct horse battery")
    conn.close()
    r = app_client.post(
        "/api/auth/login", json={"username": name, "password": "correct horse battery"}
    )
    assert r.status_code == 200, r.text
    yield r.json()["csrf_token"]
    app_client.cookies.clear()


@pytest.mark.parametrize("op", WRITES, ids=lambda op: f"{op.method} {op.path}")
def test_cookie_writes_need_the_csrf_token(app_client, session, op: Operation):
    r = _send(app_client, op, {})
    assert r.status_code == 403 and r.json()["code"] == "CsrfTokenMissingOrWrong", r.text
    r = _send(app_client, op, {"X-CSRF-Token": "not-" + session})
    assert r.status_code == 403 and r.json()["code"] == "CsrfTokenMissingOrWrong", r.text
    r = _send(app_client, op, {"X-CSRF-Token": session})
    assert r.status_code not in (401, 403), r.text
