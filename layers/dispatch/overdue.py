"""Overdue detection as time passes: open events past their due time are marked once.

`sweep` stamps `overdue_at`, writes an `overdue` timeline row and a live
notice for each event that became late since the last sweep. Concurrent
sweeps (several workers) cannot mark an event twice: the row lock makes the
second re-check `overdue_at IS NULL` and skip it. The version is not bumped:
being late is not an edit a client must re-read before acting.
"""

from __future__ import annotations

from typing import Any

from layers.dispatch import timeline

SWEEP_SQL = """
WITH late AS (
  UPDATE events SET overdue_at = now()
  WHERE status <> 'closed' AND due_at < now() AND overdue_at IS NULL
  RETURNING code, status, due_at, department_code
), logged AS (
  INSERT INTO event_actions (event_code, action, from_status, to_status, actor, at, note,
                             department_code)
  SELECT code, 'overdue', status, status, 'system:clock', clock_timestamp(),
         'due ' || to_char(due_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI'), department_code
  FROM late
  RETURNING event_code
)
SELECT event_code FROM logged ORDER BY event_code
"""


def sweep(cur: Any) -> list[str]:
    """Mark the newly overdue events (not committed); their codes."""
    cur.execute(SWEEP_SQL)
    codes = [row[0] for row in cur.fetchall()]
    for code in codes:
        timeline.notify(cur, code)
    return codes
