"""Audit rows: who, when, what, before/after, in the caller's transaction."""

from __future__ import annotations

import secrets

import psycopg2
import pytest

from gis_server.auth import Principal, Role, audit


def _rows(dsn: str, feature_id: str) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT actor, role, auth_method, action, layer, before, after, host(client_ip), "
            "at IS NOT NULL FROM audit_log WHERE feature_id = %s",
            (feature_id,),
        )
        rows = cur.fetchall()
    conn.close()
    return rows


def _principal() -> Principal:
    return Principal(1, "zhangsan", Role.GIS_EDITOR, "session", "张三")


def test_record_is_part_of_the_callers_transaction(db, db_dsn):
    fid = f"G-{secrets.token_hex(3)}"
    before = {"name": "三厂街道 网格1", "population": 1200}
    after = {"name": "三厂街道 网格1", "population": 1300}
    audit.record(db, _principal(), "update", "grids", fid, before, after, client_ip="10.0.0.7")
    assert _rows(db_dsn, fid) == []  # not visible before the caller commits
    db.commit()
    assert _rows(db_dsn, fid) == [
        ("zhangsan", "gis_editor", "session", "update", "grids", before, after, "10.0.0.7", True)
    ]


def test_rolled_back_change_leaves_no_audit_row(db, db_dsn):
    fid = f"G-{secrets.token_hex(3)}"
    audit.record(db, _principal(), "delete", "grids", fid, {"name": "x"}, None)
    db.rollback()
    assert _rows(db_dsn, fid) == []


def test_audit_log_is_append_only(db, db_dsn):
    fid = f"G-{secrets.token_hex(3)}"
    audit.record(db, "cli:root", "create", "grids", fid, None, {"name": "y"})
    db.commit()
    with db.cursor() as cur, pytest.raises(psycopg2.errors.RaiseException):
        cur.execute("UPDATE audit_log SET actor = 'someone else' WHERE feature_id = %s", (fid,))
    db.rollback()
    with db.cursor() as cur, pytest.raises(psycopg2.errors.RaiseException):
        cur.execute("DELETE FROM audit_log WHERE feature_id = %s", (fid,))


def test_write_route_audits_the_principal_and_rolls_back_with_the_write(client, make_key, db_dsn):
    key = make_key(Role.GIS_EDITOR)
    ok_id, failed_id = f"G-{secrets.token_hex(3)}", f"G-{secrets.token_hex(3)}"
    r = client.post(f"/write/grids?id={ok_id}", headers={"X-API-Key": key})
    assert r.status_code == 201
    [row] = _rows(db_dsn, ok_id)
    assert row[0] == r.json()["by"] and row[1:5] == ("gis_editor", "api_key", "update", "grids")
    assert row[5:7] == ({"name": "old"}, {"name": "new"})
    r = client.post(f"/write/grids?id={failed_id}&fail=1", headers={"X-API-Key": key})
    assert r.status_code == 500
    assert _rows(db_dsn, failed_id) == []
