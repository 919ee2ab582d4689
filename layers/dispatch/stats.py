"""Statistics of the loop over a period, per town, department, category, grid, source or day.

Events are counted by the day they were received (created_at, [start, end)):
received, dispatched automatically, closed, closure rate, on-time rate
(closed by due_at, of those closed), mean handling hours, returns (退回
actions on them) and the call-back's satisfaction rate (满意 + 基本满意).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from layers.dispatch.rows import all_rows

GROUPS = {
    "town": "e.town_code",
    "department": "e.department_code",
    "category": "e.category",
    "grid": "e.grid_code",
    "source": "e.source",
    "day": "to_char(e.created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')",  # the trend chart
}

STATS_SQL = """
WITH sel AS (
  SELECT {key} AS key, e.code, e.status, e.created_at, e.closed_at, e.due_at, e.dispatch_reason,
         e.satisfaction
  FROM events e WHERE e.created_at >= %(start)s AND e.created_at < %(end)s
), returns AS (
  SELECT s.key, count(*) AS n FROM event_actions a JOIN sel s ON s.code = a.event_code
  WHERE a.action = 'return' GROUP BY s.key
)
SELECT s.key, count(*) AS received,
  count(*) FILTER (WHERE s.dispatch_reason LIKE 'duty rule%%') AS auto_dispatched,
  count(*) FILTER (WHERE s.status = 'closed') AS closed,
  round(avg((s.status = 'closed')::int), 4)::float8 AS closure_rate,
  round(avg((s.closed_at <= s.due_at)::int) FILTER (WHERE s.status = 'closed'), 4)::float8 AS on_time_rate,
  round((avg(extract(epoch FROM s.closed_at - s.created_at)) / 3600)::numeric, 2)::float8
    AS mean_handling_hours,
  coalesce(max(r.n), 0) AS returns,
  round(avg((s.satisfaction IN ('satisfied', 'basic'))::int)
        FILTER (WHERE s.satisfaction IS NOT NULL), 4)::float8 AS satisfaction_rate
FROM sel s LEFT JOIN returns r ON r.key IS NOT DISTINCT FROM s.key
GROUP BY s.key ORDER BY received DESC, s.key
"""


def by(cur: Any, group: str, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """One row per value of `group` (a key of GROUPS) for events received in [start, end)."""
    cur.execute(STATS_SQL.format(key=GROUPS[group]), {"start": start, "end": end})
    return all_rows(cur)
