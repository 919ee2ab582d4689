"""Failed logins are throttled per (username, client) in PostGIS."""

from __future__ import annotations

import secrets

from starlette.testclient import TestClient

from gis_server.auth import ratelimit
from tests.auth.conftest import PASSWORD, build_app, login


def test_lockout_after_limit_with_retry_after(client, make_user):
    name = make_user()
    for _ in range(ratelimit.LIMIT):
        assert login(client, name, "wrong password").status_code == 401
    r = login(client, name, PASSWORD)  # even the right password is refused now
    assert r.status_code == 429
    assert r.json()["code"] == "TooManyAttempts"
    retry = int(r.headers["retry-after"])
    assert 0 < retry <= ratelimit.WINDOW.total_seconds()
    assert "set-cookie" not in r.headers


def test_unknown_usernames_are_throttled_too(client):
    ghost = f"ghost-{secrets.token_hex(4)}"
    for _ in range(ratelimit.LIMIT):
        assert login(client, ghost, "x").status_code == 401
    assert login(client, ghost, "x").status_code == 429


def test_another_users_success_does_not_reset_the_counter(client, make_user):
    victim, other = make_user(), make_user()
    for _ in range(ratelimit.LIMIT - 1):
        assert login(client, victim, "wrong").status_code == 401
    assert login(client, other).status_code == 200
    assert login(client, victim, "wrong").status_code == 401
    assert login(client, victim, "wrong").status_code == 429


def test_own_success_resets_own_counter(client, make_user):
    name = make_user()
    for _ in range(ratelimit.LIMIT - 1):
        login(client, name, "wrong")
    assert login(client, name).status_code == 200
    for _ in range(ratelimit.LIMIT - 1):
        assert login(client, name, "wrong").status_code == 401
    assert login(client, name).status_code == 200


def test_counter_is_shared_by_workers_and_kept_per_client(app_settings, make_user):
    """Two app instances (as two workers) see one counter; another IP is not locked out."""
    name = make_user()
    with (
        TestClient(build_app(app_settings), client=("10.1.1.1", 40000)) as worker_a,
        TestClient(build_app(app_settings), client=("10.1.1.1", 40001)) as worker_b,
        TestClient(build_app(app_settings), client=("10.2.2.2", 40000)) as elsewhere,
    ):
        for i in range(ratelimit.LIMIT):
            assert login(worker_a if i % 2 else worker_b, name, "wrong").status_code == 401
        assert login(worker_a, name).status_code == 429
        assert login(worker_b, name).status_code == 429
        assert login(elsewhere, name).status_code == 200
