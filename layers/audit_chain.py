"""Verify the audit trail's hash chain (migration 0009 writes it; nobody else may).

Each row's `row_hash` is SHA-256 over the previous row's hash and the row's own
canonical text (`onemap_audit_digest` in SQL, so writer and checker cannot
disagree). The check recomputes every hash in `chain_seq` order: an edited row,
a deleted one or one slipped in behind the application breaks it at that row.
Driver-neutral: any DB-API cursor (psycopg2 or psycopg 3).
"""

from __future__ import annotations

from dataclasses import dataclass

_FIRST_BREAK = """
WITH chain AS (
    SELECT a.id, a.chain_seq, a.prev_hash, a.row_hash,
           lag(a.row_hash) OVER w AS before_hash,
           row_number() OVER w AS position
      FROM audit_log a WINDOW w AS (ORDER BY a.chain_seq)
)
SELECT c.id, c.chain_seq,
       CASE WHEN c.chain_seq <> c.position THEN 'missing row before it'
            WHEN c.prev_hash IS DISTINCT FROM c.before_hash THEN 'does not link to the row before'
            ELSE 'content changed since it was written' END
  FROM chain c JOIN audit_log a ON a.id = c.id
 WHERE c.chain_seq <> c.position
    OR c.prev_hash IS DISTINCT FROM c.before_hash
    OR c.row_hash <> onemap_audit_digest(c.prev_hash, a)
 ORDER BY c.chain_seq
 LIMIT 1
"""


@dataclass(frozen=True)
class ChainReport:
    rows: int
    head: str | None  # hex SHA-256 of the last row: note it down to detect truncation later
    broken_id: int | None = None
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def intact(self) -> bool:
        return self.broken_id is None


def verify(cur) -> ChainReport:  # noqa: ANN001 - any DB-API cursor
    """The whole chain checked in one statement; the first broken row if any."""
    cur.execute("SELECT count(*), max(chain_seq) FROM audit_log")
    rows, _ = cur.fetchone()
    cur.execute("SELECT encode(row_hash, 'hex') FROM audit_log ORDER BY chain_seq DESC LIMIT 1")
    head = cur.fetchone()
    cur.execute(_FIRST_BREAK)
    broken = cur.fetchone()
    if broken is None:
        return ChainReport(rows, head[0] if head else None)
    return ChainReport(rows, head[0] if head else None, broken[0], broken[1], broken[2])
