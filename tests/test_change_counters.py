"""layer_changes (migration 0004): one counter per layer table, bumped once per statement."""

from __future__ import annotations

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
