"""layer_changes (migrations 0004, 0011): one counter per layer table, bumped once per statement,
without one row that concurrent writers queue on."""

from __future__ import annotations

import psycopg2

from layers.registry import LAYERS


def _version(cur, table: str) -> int:
    cur.execute("SELECT version FROM layer_changes WHERE layer = %s", (table,))
    return cur.fetchone()[0]


def test_every_layer_table_has_a_counter(db):
    with db.cursor() as cur:
        cur.execute("SELECT layer FROM layer_changes")
        assert {layer.table for layer in LAYERS} <= {r[0] for r in cur.fetchall()}


def test_counter_bumps_once_per_statement_not_per_row(db):
    with db.cursor() as cur:
        before = _version(cur, "cameras")
        cur.execute(
            "UPDATE cameras SET name = name WHERE code IN (SELECT code FROM cameras LIMIT 5)"
        )
        assert _version(cur, "cameras") == before + 1
        cur.execute("UPDATE cameras SET name = name WHERE false")  # statement triggers fire anyway
        assert _version(cur, "cameras") == before + 2
        assert _version(cur, "grids") >= 1


def _committed_version(dsn: str, table: str) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        version = _version(cur, table)
    conn.close()
    return version


def test_concurrent_writers_do_not_wait_for_each_other(db_dsn):
    """Two open transactions writing one table: the second neither waits for the first's commit
    nor hides it — the version rises at each commit, in whatever order they commit."""
    first, second = psycopg2.connect(db_dsn), psycopg2.connect(db_dsn)
    try:
        start = _committed_version(db_dsn, "cameras")
        with first.cursor() as a, second.cursor() as b:
            a.execute("UPDATE cameras SET name = name WHERE false")
            # a lock wait on the counter would fail here instead of hanging the test
            b.execute("SET lock_timeout = '5s'")
            b.execute("UPDATE cameras SET name = name WHERE false")
            second.commit()
            after_second = _committed_version(db_dsn, "cameras")
            first.commit()
            after_first = _committed_version(db_dsn, "cameras")
        assert start < after_second < after_first
    finally:
        first.close()
        second.close()
