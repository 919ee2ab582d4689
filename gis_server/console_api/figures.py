"""SQL of the console's event list and side-panel figures (categories, per-town counts).

`events_query` turns the list's filters (status, category, time window, limit)
into bound SQL; a bad value is an InvalidConsoleParameter naming the parameter.
"""

from __future__ import annotations

from typing import Any

from psycopg import sql
from starlette.requests import Request

from gis_server.console_api.layers import IN_DISTRICT, lonlat_sql
from gis_server.errors import InvalidConsoleParameter
from layers import vocab

OPEN_STATUSES = tuple(s for s in vocab.EVENT_STATUSES if s != "closed")
WINDOWS = {"all": None, "today": "today", "24h": "24 hours", "7d": "7 days", "30d": "30 days"}

CATEGORIES_SQL = sql.SQL("""
SELECT json_build_object('categories', coalesce(json_agg(json_build_object('name', category, 'count', n)
  ORDER BY n DESC), '[]'))::text
FROM (SELECT category, count(*) AS n FROM events e WHERE {district} GROUP BY category) c
""").format(district=sql.SQL(IN_DISTRICT.format(a="e")))

TOWN_STATS_SQL = sql.SQL("""
WITH b AS (SELECT date_trunc('day', now()) AS day0, now() - interval '30 days' AS d30),
per_town AS (
  SELECT t.code, t.name,
    count(e.gid) FILTER (WHERE e.created_at >= b.day0) AS today,
    count(e.gid) FILTER (WHERE e.status <> 'closed') AS open,
    count(e.gid) FILTER (WHERE e.status <> 'closed' AND e.due_at < now()) AS overdue,
    count(e.gid) FILTER (WHERE e.created_at >= b.d30) AS total_30d,
    count(e.gid) FILTER (WHERE e.created_at >= b.d30 AND e.status = 'closed') AS closed_30d
  FROM towns t CROSS JOIN b
  LEFT JOIN events e ON e.town_code = t.code AND (e.created_at >= b.d30 OR e.status <> 'closed')
  WHERE {district}
  GROUP BY t.code, t.name
)
SELECT json_build_object('generated_at', now(), 'day', (SELECT day0::date FROM b),
  'towns', coalesce(json_agg(json_build_object('code', code, 'name', name, 'today', today,
      'open', open, 'overdue', overdue, 'total_30d', total_30d, 'closed_30d', closed_30d,
      'closure_rate', CASE WHEN total_30d > 0 THEN round(closed_30d::numeric / total_30d, 4) END)
    ORDER BY open DESC, code), '[]'))::text
FROM per_town
""").format(district=sql.SQL(IN_DISTRICT.format(a="t")))


EVENTS_SQL = """
WITH sel AS (SELECT * FROM events WHERE {where}),
page AS (SELECT * FROM sel ORDER BY created_at DESC LIMIT %(limit)s)
SELECT json_build_object('total', (SELECT count(*) FROM sel), 'limit', %(limit)s,
  'fields', json_build_array('code', 'category', 'status', 'priority', 'title', 'created_at',
                             'due_at', 'grid_code', 'lon', 'lat'),
  'rows', coalesce((SELECT json_agg(json_build_array(code, category, status, priority, title,
      created_at, due_at, grid_code, {ll}) ORDER BY created_at DESC) FROM page), '[]'))::text
"""


def list_param(request: Request, name: str, allowed: tuple[str, ...] | None) -> list[str]:
    """A comma-separated parameter; with `allowed`, every value must be one of them."""
    raw = request.query_params.get(name, "")
    values = [v for v in (p.strip() for p in raw.split(",")) if v]
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise InvalidConsoleParameter(
                name, f"unknown value(s) {', '.join(bad)}; allowed: {', '.join(allowed)}"
            )
    return values


def _statuses(request: Request) -> list[str]:
    """`status`: "open" (the default), "all" or a list of statuses.

    A list naming the pre-dispatch codes `handling`/`reviewing` comes from a
    console built before migration 0007: it is read in the old vocabulary
    (vocab.LEGACY_EVENT_STATUSES), so its "all open" filter still means all open.
    """
    statuses = request.query_params.get("status", "open")
    if statuses == "open":
        return list(OPEN_STATUSES)
    if statuses == "all":
        return list(vocab.EVENT_STATUSES)
    legacy = vocab.LEGACY_EVENT_STATUSES
    values = list_param(request, "status", (*vocab.EVENT_STATUSES, "handling", "reviewing"))
    if {"handling", "reviewing"} & set(values):
        return [new for old in values for new in legacy.get(old, (old,))]
    return [v for v in values if v in vocab.EVENT_STATUSES] if values else values


def _limit(request: Request, max_limit: int) -> int:
    try:
        limit = int(request.query_params.get("limit", max_limit))
    except ValueError:
        raise InvalidConsoleParameter("limit", "must be an integer") from None
    if not 1 <= limit <= max_limit:
        raise InvalidConsoleParameter("limit", f"must be between 1 and {max_limit}")
    return limit


def events_query(
    request: Request, max_limit: int, district: str | None = None
) -> tuple[sql.Composable, dict[str, Any]]:
    """SQL and params for /events from status, category, window, limit (and the district)."""
    window = request.query_params.get("window", "all")
    if window not in WINDOWS:
        raise InvalidConsoleParameter("window", f"must be one of {', '.join(WINDOWS)}")
    where = [sql.SQL("status = ANY(%(statuses)s)")]
    params: dict[str, Any] = {"statuses": _statuses(request), "limit": _limit(request, max_limit)}
    if district is not None:
        where.append(sql.SQL("district_code = %(district)s"))
        params["district"] = district
    categories = list_param(request, "category", None)
    if categories:
        where.append(sql.SQL("category = ANY(%(categories)s)"))
        params["categories"] = categories
    if WINDOWS[window] == "today":
        where.append(sql.SQL("created_at >= date_trunc('day', now())"))
    elif WINDOWS[window]:
        where.append(sql.SQL("created_at >= now() - %(window)s::interval"))
        params["window"] = WINDOWS[window]
    query = sql.SQL(EVENTS_SQL).format(where=sql.SQL(" AND ").join(where), ll=lonlat_sql("geom"))
    return query, params
