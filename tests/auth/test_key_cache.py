"""The in-process API-key cache: hits skip the database; a revoke, a disable or a role change
reaches every process at once through NOTIFY onemap_auth (the TTL here is a minute, so only the
notice can make the change visible within the test's wait)."""

from __future__ import annotations

import json
import secrets
import select
import time
from collections.abc import Iterator

import psycopg2
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.auth import Role, store
from gis_server.settings import get_settings

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def client(db_dsn: str) -> Iterator[TestClient]:
    base = get_settings()
    settings = base.model_copy(
        update={"server": base.server.model_copy(update={"api_key_cache_s": 60.0})}
    )
    with TestClient(create_app(settings), raise_server_exceptions=False) as c:
        assert c.app.state.key_cache.listening.wait(10)
        yield c


@pytest.fixture()
def user(db_dsn: str) -> Iterator[tuple[str, str, str]]:
    name = f"kc-{secrets.token_hex(3)}"
    with psycopg2.connect(db_dsn) as conn:
        store.add_user(conn, name, Role.REPORTER, PASSWORD)
        key_id, key, _ = store.issue_key(conn, name, "test")
    conn.close()
    yield name, key_id, key
    with psycopg2.connect(db_dsn) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM users WHERE username = %s", (name,))
    conn.close()


def me(client: TestClient, key: str):  # noqa: ANN201
    return client.get("/api/auth/me", headers={"Authorization": f"Bearer {key}"})


def until(client: TestClient, key: str, status: int, role: str | None = None) -> bool:
    """Poll (the change travels by NOTIFY); True once the answer is `status` (and role)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = me(client, key)
        if r.status_code == status and (role is None or r.json()["role"] == role):
            return True
        time.sleep(0.05)
    return False


def change(dsn: str, sql: str, params: tuple) -> None:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, params)
    conn.close()


def test_a_key_is_looked_up_once_then_served_from_the_cache(client, user) -> None:
    cache = client.app.state.key_cache
    _, _, key = user
    assert me(client, key).status_code == 200
    hits = cache.hits
    for _ in range(5):
        assert me(client, key).json()["role"] == "reporter"
    assert cache.hits == hits + 5
    assert me(client, key + "x").status_code == 401  # a wrong secret is never a hit


def test_a_revoked_key_stops_at_once(client, user, db_dsn) -> None:
    _, key_id, key = user
    assert me(client, key).status_code == 200 and me(client, key).status_code == 200
    with psycopg2.connect(db_dsn) as conn:
        store.revoke_key(conn, key_id)
    conn.close()
    assert until(client, key, 401)


def test_a_disabled_user_and_a_new_role_take_effect_at_once(client, user, db_dsn) -> None:
    name, _, key = user
    assert me(client, key).json()["role"] == "reporter"
    change(db_dsn, "UPDATE users SET role = 'dispatcher' WHERE username = %s", (name,))
    assert until(client, key, 200, "dispatcher")
    with psycopg2.connect(db_dsn) as conn:
        store.disable_user(conn, name)
    conn.close()
    assert until(client, key, 401)


def test_only_real_changes_notify_not_use_stamps(user, db_dsn) -> None:
    name, key_id, _ = user
    listener = psycopg2.connect(db_dsn)
    listener.autocommit = True
    with listener.cursor() as c:
        c.execute("LISTEN onemap_auth")
    change(db_dsn, "UPDATE api_keys SET last_used_at = now() WHERE key_id = %s", (key_id,))
    change(db_dsn, "UPDATE users SET last_login_at = now() WHERE username = %s", (name,))
    change(db_dsn, "UPDATE api_keys SET name = 'renamed' WHERE key_id = %s", (key_id,))
    got: list[str] = []
    while not got and select.select([listener], [], [], 10) != ([], [], []):
        listener.poll()
        got += [n.payload for n in listener.notifies]
        listener.notifies.clear()
    listener.close()
    assert got == ["api_keys"], json.dumps(got)  # the stamps sent nothing before the rename


def test_without_its_listener_nothing_is_cached(db_dsn, user) -> None:
    _, key_id, key = user
    app = create_app(get_settings())
    c = TestClient(app, raise_server_exceptions=False)  # no lifespan: no LISTEN, so no cache
    assert me(c, key).status_code == 200
    with psycopg2.connect(db_dsn) as conn:
        store.revoke_key(conn, key_id)
    conn.close()
    assert me(c, key).status_code == 401 and app.state.key_cache.hits == 0
