"""The audit trail is tamper-evident: every row is chained to the one before by SHA-256.

Tampering is done as a database superuser would (triggers off with
session_replication_role), inside a transaction that is rolled back afterwards,
so the session's shared audit trail stays intact for other tests.
"""

from __future__ import annotations

import secrets
import threading

import psycopg2
from click.testing import CliRunner

from gis_server.auth import audit
from gis_server.cli.main import cli
from layers import audit_chain


def _write(dsn: str, n: int, tag: str) -> list[int]:
    conn = psycopg2.connect(dsn)
    try:
        ids = [
            audit.record(conn, "cli:test", "update", "grids", f"{tag}-{i}", {"v": i}, {"v": i + 1})
            for i in range(n)
        ]
        conn.commit()
        return ids
    finally:
        conn.close()


def _tampered(dsn: str, statement: str, params: tuple = ()) -> audit_chain.ChainReport:
    """verify() as seen inside a transaction that tampered, then rolled back."""
    conn = psycopg2.connect(dsn)
    try:
        with conn.cursor() as cur:
            cur.execute("SET LOCAL session_replication_role = replica")  # triggers off
            cur.execute(statement, params)
            cur.execute("SET LOCAL session_replication_role = origin")
            return audit_chain.verify(cur)
    finally:
        conn.rollback()
        conn.close()


def _verify(dsn: str) -> audit_chain.ChainReport:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        report = audit_chain.verify(cur)
    conn.close()
    return report


def test_rows_written_by_the_application_chain_intact(db_dsn):
    before = _verify(db_dsn)
    _write(db_dsn, 5, secrets.token_hex(3))
    after = _verify(db_dsn)
    assert after.intact, after
    assert after.rows == before.rows + 5
    assert after.head != before.head and len(after.head) == 64


def test_edited_row_breaks_the_chain_at_that_row(db_dsn):
    ids = _write(db_dsn, 3, secrets.token_hex(3))
    report = _tampered(
        db_dsn, "UPDATE audit_log SET after = '{\"v\": 99}' WHERE id = %s", (ids[1],)
    )
    assert (report.broken_id, report.reason) == (ids[1], "content changed since it was written")


def test_deleted_row_breaks_the_chain_after_it(db_dsn):
    ids = _write(db_dsn, 3, secrets.token_hex(3))
    report = _tampered(db_dsn, "DELETE FROM audit_log WHERE id = %s", (ids[1],))
    assert (report.broken_id, report.reason) == (ids[2], "missing row before it")


def test_forged_row_breaks_the_chain(db_dsn):
    _write(db_dsn, 1, secrets.token_hex(3))
    report = _tampered(
        db_dsn,
        "INSERT INTO audit_log (actor, action, chain_seq, prev_hash, row_hash) "
        "SELECT 'mallory', 'delete', max(chain_seq) + 1, "
        "(SELECT row_hash FROM audit_log ORDER BY chain_seq DESC LIMIT 1), "
        "sha256('forged'::bytea) FROM audit_log",
    )
    assert report.reason == "content changed since it was written"
    assert not report.intact


def test_concurrent_writers_never_fork_the_chain(db_dsn):
    tag = secrets.token_hex(3)
    threads = [threading.Thread(target=_write, args=(db_dsn, 10, f"{tag}-{t}")) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    report = _verify(db_dsn)
    assert report.intact, report
    with psycopg2.connect(db_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*), max(chain_seq) FROM audit_log")
        count, top = cur.fetchone()
    conn.close()
    assert count == top  # no gaps, no duplicates (chain_seq is unique)


def test_cli_verify_exit_codes(db_dsn):
    runner = CliRunner()
    ok = runner.invoke(cli, ["audit", "verify"])
    assert ok.exit_code == 0 and "intact" in ok.output, ok.output
    (row,) = _write(db_dsn, 1, secrets.token_hex(3))
    conn = psycopg2.connect(db_dsn)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SET session_replication_role = replica")
            cur.execute("UPDATE audit_log SET actor = 'mallory' WHERE id = %s", (row,))
            broken = runner.invoke(cli, ["audit", "verify"])
            cur.execute("UPDATE audit_log SET actor = 'cli:test' WHERE id = %s", (row,))
    finally:
        conn.close()
    assert broken.exit_code == 1
    assert f"broken at id {row}" in broken.output
    assert runner.invoke(cli, ["audit", "verify"]).exit_code == 0
