"""Console login: cookie flags, /me, CSRF, logout, disabled users."""

from __future__ import annotations

import psycopg2
from starlette.testclient import TestClient

from gis_server.auth import Role, store
from gis_server.auth.sessions import COOKIE
from tests.auth.conftest import PASSWORD, build_app, login, with_settings


def _cookie_attrs(response) -> list[str]:  # noqa: ANN001
    header = response.headers["set-cookie"]
    assert header.startswith(f"{COOKIE}=")
    return [part.strip().lower() for part in header.split(";")]


def test_login_sets_strict_httponly_cookie_and_returns_csrf(client, make_user):
    name = make_user(Role.DISPATCHER)
    r = login(client, name.upper())  # usernames are case-insensitive
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["username"] == name and body["role"] == "dispatcher"
    assert len(body["csrf_token"]) >= 32
    assert r.headers["cache-control"] == "no-store"
    attrs = _cookie_attrs(r)
    assert "httponly" in attrs and "samesite=strict" in attrs and "path=/" in attrs
    assert "secure" not in attrs  # public_url is http in tests


def test_cookie_is_secure_when_public_url_is_https(app_settings, make_user):
    settings = with_settings(app_settings, public_url="https://onemap.example.gov.cn")
    with TestClient(build_app(settings)) as c:
        assert "secure" in _cookie_attrs(login(c, make_user()))


def test_form_login(client, make_user):
    name = make_user()
    r = client.post("/api/auth/login", data={"username": name, "password": PASSWORD})
    assert r.status_code == 200 and r.json()["username"] == name


def test_wrong_password_and_unknown_user_look_the_same(client, make_user):
    wrong = login(client, make_user(), "not the password")
    unknown = login(client, "nobody-here", PASSWORD)
    for r in (wrong, unknown):
        assert r.status_code == 401
        assert r.json()["code"] == "InvalidCredentials"
        assert "set-cookie" not in r.headers
    assert wrong.json() == unknown.json()


def test_bad_login_bodies_are_400(client):
    assert client.post("/api/auth/login", json={"username": "x"}).status_code == 400
    assert client.post("/api/auth/login", content=b"username=x", headers={}).status_code == 400
    r = client.post(
        "/api/auth/login", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "InvalidParameterValue"


def test_cross_site_login_is_refused(client, make_user):
    r = client.post(
        "/api/auth/login",
        json={"username": make_user(), "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert r.status_code == 403 and "set-cookie" not in r.headers
    ok = client.post(
        "/api/auth/login",
        json={"username": make_user(), "password": PASSWORD},
        headers={"Origin": "http://testserver"},
    )
    assert ok.status_code == 200


def test_session_me_and_anonymous_me(client, make_user):
    assert client.get("/api/auth/me").status_code == 401
    name = make_user(Role.GIS_EDITOR)
    csrf = login(client, name).json()["csrf_token"]
    me = client.get("/api/auth/me")
    assert me.status_code == 200
    assert me.json() == {
        "username": name,
        "display_name": None,
        "role": "gis_editor",
        "method": "session",
        "csrf_token": csrf,
    }


def test_csrf_required_for_cookie_writes(client, make_user):
    csrf = login(client, make_user(Role.GIS_EDITOR)).json()["csrf_token"]
    for path in ("/write/grids", "/ogc/collections/grids/items"):
        missing = client.post(path)
        assert missing.status_code == 403, path
        assert missing.json()["code"] == "CsrfTokenMissingOrWrong"
        wrong = client.post(path, headers={"X-CSRF-Token": csrf[:-1] + "x"})
        assert wrong.status_code == 403, path
        ok = client.post(path, headers={"X-CSRF-Token": csrf})
        assert ok.status_code == 201, (path, ok.text)


def test_csrf_of_another_session_does_not_work(app_settings, make_user):
    app = build_app(app_settings)
    with TestClient(app) as alice, TestClient(app) as bob:
        login(alice, make_user(Role.GIS_EDITOR))
        bob_csrf = login(bob, make_user(Role.GIS_EDITOR)).json()["csrf_token"]
        assert alice.post("/write/grids", headers={"X-CSRF-Token": bob_csrf}).status_code == 403


def test_logout_ends_the_session(client, make_user, db):
    name = make_user()
    csrf = login(client, name).json()["csrf_token"]
    token = client.cookies[COOKIE]
    assert client.post("/api/auth/logout").status_code == 403  # CSRF-protected too
    r = client.post("/api/auth/logout", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert COOKIE not in client.cookies
    client.cookies.set(COOKIE, token)  # a kept copy of the cookie is now dead
    assert client.get("/api/auth/me").status_code == 401
    with db.cursor() as cur:
        cur.execute(
            "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE u.username = %s",
            (name,),
        )
        assert cur.fetchone()[0] == 0
    client.cookies.clear()
    assert client.post("/api/auth/logout").status_code == 204  # harmless without a session


def test_new_login_replaces_the_old_session(client, make_user):
    name = make_user()
    login(client, name)
    first = client.cookies[COOKIE]
    login(client, name)
    assert client.cookies[COOKIE] != first
    client.cookies.set(COOKIE, first)
    assert client.get("/api/auth/me").status_code == 401


def test_disabled_user_loses_session_and_cannot_log_in(client, make_user, db_dsn):
    name = make_user(Role.ADMIN)
    assert login(client, name).status_code == 200
    with psycopg2.connect(db_dsn) as conn:
        store.disable_user(conn, name)
    conn.close()
    assert client.get("/api/auth/me").status_code == 401
    r = login(client, name)
    assert r.status_code == 401 and r.json()["code"] == "InvalidCredentials"
