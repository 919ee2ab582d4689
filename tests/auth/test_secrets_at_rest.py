"""The database never holds a password, API key or session token in plain text."""

from __future__ import annotations

import psycopg2

from gis_server.auth import Role, store
from tests.auth.conftest import PASSWORD, login

TABLES = ("users", "api_keys", "sessions", "login_failures", "audit_log")


def _dump(db) -> str:  # noqa: ANN001
    with db.cursor() as cur:
        text = []
        for table in TABLES:
            cur.execute(f"SELECT t::text FROM {table} t")  # noqa: S608 - fixed names
            text.extend(row[0] for row in cur.fetchall())
    return "\n".join(text)


def test_no_plain_secret_in_any_auth_table(client, make_user, db_dsn, db):
    name = make_user(Role.GIS_EDITOR)
    with psycopg2.connect(db_dsn) as conn:
        _, key, _ = store.issue_key(conn, name, "secret-check")
    conn.close()
    assert login(client, name, "a wrong password attempt").status_code == 401
    assert login(client, name).status_code == 200
    token = client.cookies["onemap_session"]
    assert client.get("/api/auth/me", headers={"X-API-Key": key}).status_code == 200

    dump = _dump(db)
    assert name in dump  # the dump really covers the rows just written
    for secret in (PASSWORD, "a wrong password attempt", key, key.split("_", 2)[2], token):
        assert secret not in dump
