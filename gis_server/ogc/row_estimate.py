"""A table's row count as PostgreSQL estimates it, for choices that need only its size.

Tiles pick their zoom bands by it and the items pages decide whether numberMatched
is cheap enough to count. A partitioned parent (vehicle_positions, one partition
a day) has no estimate of its own, so its partitions' estimates are summed.
"""

from __future__ import annotations

from typing import Any

# -1 when unknown: the table is missing, or neither it nor any partition was analysed.
_ROW_ESTIMATE = (
    "SELECT CASE WHEN p.reltuples >= 0 THEN p.reltuples ELSE coalesce("
    "(SELECT sum(greatest(c.reltuples, 0)) FROM pg_inherits i "
    "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = p.oid), -1) END "
    "FROM pg_class p WHERE p.oid = to_regclass(%s)"
)


async def row_estimate(cur: Any, table: str) -> float:
    """pg_class's row estimate of `table` (its partitions' sum when it is partitioned); -1
    when unknown. `cur` is an async psycopg cursor."""
    await cur.execute(_ROW_ESTIMATE, (table,))
    row = await cur.fetchone()
    return float(row[0]) if row is not None and row[0] is not None else -1.0
