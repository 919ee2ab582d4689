"""The monthly 100-point assessment (考核) of towns and departments, and the grid workers' ranking.

Tongzhou's scheme: hotline (12345) events earn up to `hotline_points`, grid
events up to `grid_points`; each part is the weighted mean of its on-time
rate, closure rate and (hotline only: grid events have no call-back)
satisfaction rate. A part without events of its kind scores full marks —
nothing was late or left open. Grid workers are ranked by what they
reported: number, quality (share closed without a return) and difficulty
(mean priority: normal 1, urgent 2, critical 3).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from layers.dispatch.rows import all_rows
from layers.dispatch.stats import GROUPS


@dataclass(frozen=True)
class Weights:
    hotline_points: float = 50.0
    grid_points: float = 50.0
    on_time: float = 0.4
    closure: float = 0.4
    satisfaction: float = 0.2


PARTS_SQL = """
SELECT {key} AS key,
  count(*) FILTER (WHERE e.source = 'hotline_12345') AS hotline,
  avg((e.closed_at <= e.due_at)::int) FILTER (WHERE e.source = 'hotline_12345' AND e.status = 'closed') AS h_on_time,
  avg((e.status = 'closed')::int) FILTER (WHERE e.source = 'hotline_12345') AS h_closure,
  avg((e.satisfaction IN ('satisfied', 'basic'))::int)
    FILTER (WHERE e.source = 'hotline_12345' AND e.satisfaction IS NOT NULL) AS h_satisfaction,
  count(*) FILTER (WHERE e.source = 'grid_worker') AS grid,
  avg((e.closed_at <= e.due_at)::int) FILTER (WHERE e.source = 'grid_worker' AND e.status = 'closed') AS g_on_time,
  avg((e.status = 'closed')::int) FILTER (WHERE e.source = 'grid_worker') AS g_closure
FROM events e
WHERE e.created_at >= %(start)s AND e.created_at < %(end)s AND {key} IS NOT NULL
GROUP BY 1
"""

WORKERS_SQL = """
SELECT e.grid_worker AS worker, min(e.grid_code) AS grid_code, count(*) AS reported,
  avg((NOT EXISTS (SELECT 1 FROM event_actions a WHERE a.event_code = e.code AND a.action = 'return')
       AND e.status = 'closed')::int)::float8 AS quality,
  avg(CASE e.priority WHEN 'critical' THEN 3 WHEN 'urgent' THEN 2 ELSE 1 END)::float8 AS difficulty
FROM events e
WHERE e.source = 'grid_worker' AND e.grid_worker IS NOT NULL
  AND e.created_at >= %(start)s AND e.created_at < %(end)s
GROUP BY e.grid_worker
"""


def _mean(pairs: list[tuple[float, Any]]) -> float:
    """Weighted mean of the rates present (a missing rate drops out of the weights)."""
    present = [(w, float(r)) for w, r in pairs if r is not None and w > 0]
    total = sum(w for w, _ in present)
    return sum(w * r for w, r in present) / total if total else 1.0


def score_row(row: dict[str, Any], w: Weights) -> dict[str, Any]:
    hotline = w.hotline_points * (
        _mean([(w.on_time, row["h_on_time"]), (w.closure, row["h_closure"]),
               (w.satisfaction, row["h_satisfaction"])]) if row["hotline"] else 1.0
    )  # fmt: skip
    grid = w.grid_points * (
        _mean([(w.on_time, row["g_on_time"]), (w.closure, row["g_closure"])])
        if row["grid"]
        else 1.0
    )
    return {**row, "hotline_score": round(hotline, 2), "grid_score": round(grid, 2),
            "score": round(hotline + grid, 2)}  # fmt: skip


def ranking(
    cur: Any, group: str, start: dt.datetime, end: dt.datetime, w: Weights
) -> list[dict[str, Any]]:
    """Towns or departments (group "town" | "department") by score, best first, with rank."""
    cur.execute(PARTS_SQL.format(key=GROUPS[group]), {"start": start, "end": end})
    rows = sorted((score_row(r, w) for r in all_rows(cur)), key=lambda r: (-r["score"], r["key"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows


def workers(cur: Any, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
    """Grid workers by reported × quality × difficulty, best first, with rank."""
    cur.execute(WORKERS_SQL, {"start": start, "end": end})
    rows = all_rows(cur)
    for r in rows:
        r["score"] = round(r["reported"] * r["quality"] * r["difficulty"], 2)
    rows.sort(key=lambda r: (-r["score"], r["worker"]))
    for rank, row in enumerate(rows, start=1):
        row["rank"] = rank
    return rows
