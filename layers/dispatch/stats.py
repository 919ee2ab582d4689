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

# One pass over the period's rows of the index events_stats (migration 0011), no join:
# the 退回 count and the auto-dispatch flag are kept on the event. Keys other than
# town and department read the heap as well.
STATS_SQL = """
SELECT {key} AS key, count(*) AS received,
  count(*) FILTER (WHERE e.auto_dispatched) AS auto_dispatched,
  count(*) FILTER (WHERE e.status = 'closed') AS closed,
  round(avg((e.status = 'closed')::int), 4)::float8 AS closure_rate,
  round(avg((e.closed_at <= e.due_at)::int) FILTER (WHERE e.status = 'closed'), 4)::float8 AS on_time_rate,
  round((avg(extract(epoch FROM e.closed_at - e.created_at)) / 3600)::numeric, 2)::float8
    AS mean_handling_hours,
  sum(e.return_count)::bigint AS returns,
  round(avg((e.satisfaction IN ('satisfied', 'basic'))::int)
        FILTER (WHERE e.satisfaction IS NOT NULL), 4)::float8 AS satisfaction_rate
FROM events e WHERE e.created_at >= %(start)s AND e.created_at < %(end)s
GROUP BY 1 ORDER BY received DESC, key
"""


def by(cur: Any, group: str, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """One row per value of `group` (a key of GROUPS) for events received in [start, end)."""
    # JIT compiling the aggregate costs more than it saves at a year's 300,000 rows
    cur.execute("SET LOCAL jit = off")
    cur.execute(STATS_SQL.format(key=GROUPS[group]), {"start": start, "end": end})
    return all_rows(cur)
