"""Statistics of the loop over a period, per town, department, category, grid, source or day.

Events are counted by the day they were received (created_at, [start, end)):
received, dispatched automatically, closed, closure rate, on-time rate
(closed by due_at, of those closed), mean handling hours, returns (退回
actions on them) and the call-back's satisfaction rate (满意 + 基本满意).

A period of whole local days (what the API and the console ask for) grouped by
town, department or day is read from the daily rollup `event_stats_daily`
(migration 0013, kept by statement triggers on events; by district since 0016): a
year is ~55,000 rollup rows instead of 300,000 events, for the city or one district.
Other keys and periods read the events.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from layers.dispatch.rows import all_rows

LOCAL = ZoneInfo("Asia/Shanghai")

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
FROM events e WHERE e.created_at >= %(start)s AND e.created_at < %(end)s AND {district}
GROUP BY 1 ORDER BY received DESC, key
"""


ROLLUP_GROUPS = {
    "town": "s.town_code",
    "department": "s.department_code",
    "day": "to_char(s.day, 'YYYY-MM-DD')",
}

# The same figures from the rollup's sums (the rates are the same ratios, rounded alike).
_ROLLUP = """
SELECT {key} AS key, sum(s.received)::bigint AS received,
  sum(s.auto_dispatched)::bigint AS auto_dispatched, sum(s.closed)::bigint AS closed,
  round(sum(s.closed)::numeric / nullif(sum(s.received), 0), 4)::float8 AS closure_rate,
  round(sum(s.on_time)::numeric / nullif(sum(s.on_time_n), 0), 4)::float8 AS on_time_rate,
  round((sum(s.handled_s) / nullif(sum(s.handled_n), 0) / 3600)::numeric, 2)::float8
    AS mean_handling_hours,
  sum(s.returns)::bigint AS returns,
  round(sum(s.satisfied)::numeric / nullif(sum(s.rated), 0), 4)::float8 AS satisfaction_rate
FROM event_stats_daily s WHERE s.day >= %(start)s AND s.day < %(end)s{district}
GROUP BY 1 HAVING sum(s.received) > 0 ORDER BY received DESC, key
"""
ROLLUP_SQL = _ROLLUP.replace("{district}", "")  # the city
DISTRICT_ROLLUP_SQL = _ROLLUP.replace("{district}", " AND s.district_code = %(district)s")


def _local_midnight(t: dt.datetime) -> dt.date | None:
    local = t.astimezone(LOCAL) if t.tzinfo else None
    return local.date() if local is not None and local.time() == dt.time() else None


def by(
    cur: Any,
    group: str,
    start: dt.datetime,
    end: dt.datetime,
    *,
    rollup: bool = True,
    district: str | None = None,
) -> list[dict[str, Any]]:
    """One row per value of `group` (a key of GROUPS) for events received in [start, end).

    Whole local days by town, department or day come from the rollup (`rollup=False`: from
    the events, the check the tests make). `district`: that district's events only (the
    rollup keeps a district per row, migration 0016)."""
    days = (_local_midnight(start), _local_midnight(end))
    if rollup and group in ROLLUP_GROUPS and None not in days:
        rollup_sql = ROLLUP_SQL if district is None else DISTRICT_ROLLUP_SQL
        cur.execute(
            rollup_sql.format(key=ROLLUP_GROUPS[group]),
            {"start": days[0], "end": days[1], "district": district},
        )
        return all_rows(cur)
    # JIT compiling the aggregate costs more than it saves at a year's 300,000 rows
    cur.execute("SET LOCAL jit = off")
    where = "true" if district is None else "e.district_code = %(district)s"
    cur.execute(
        STATS_SQL.format(key=GROUPS[group], district=where),
        {"start": start, "end": end, "district": district},
    )
    return all_rows(cur)
