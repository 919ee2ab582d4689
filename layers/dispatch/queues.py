"""What dispatchers, handlers and grid workers see: queues, one event, its timeline.

Handlers see their department's events (lead or 协办) and grid workers their
grids'; dispatchers and admins see all. Reporter contacts are read only by
`contact`, which the route calls for dispatchers and admins alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from layers import vocab
from layers.dispatch.rows import all_rows, one
from layers.dispatch.scope import district_sql
from layers.dispatch.timeline import Actor

EVENT_COLUMNS = """
e.code, e.status, e.source, e.external_id, e.category, e.subcategory, e.priority, e.title,
e.description, e.address, e.grid_code, e.town_code, e.district_code, e.grid_worker,
e.department_code, e.department, e.dispatch_reason, e.version, e.escalation_level,
e.satisfaction, e.photos,
e.created_at, e.dispatched_at, e.accepted_at, e.resolved_at, e.verified_at, e.closed_at,
e.due_at, e.overdue_at, (e.status <> 'closed' AND e.due_at < now()) AS overdue,
round(ST_X(e.geom)::numeric, 7)::float8 AS lon, round(ST_Y(e.geom)::numeric, 7)::float8 AS lat
"""

QUEUES = {
    "all": "true",
    "open": "e.status <> 'closed'",
    "new": "e.status IN ('received', 'dispatched')",
    "manual": "e.status = 'manual'",
    "returned": "e.status = 'returned'",
    "overdue": "e.status <> 'closed' AND e.due_at < now()",
    "mine": "e.status <> 'closed'",
}

SCOPE_SQL = {
    "handler": "(e.department_code = %(dept)s OR EXISTS (SELECT 1 FROM event_cohandlers c "
    "WHERE c.event_code = e.code AND c.department_code = %(dept)s))",
    "grid_worker": "e.grid_code = ANY(%(grids)s)",
}


@dataclass(frozen=True)
class Filters:
    queue: str = "open"
    status: str | None = None
    category: str | None = None
    town_code: str | None = None
    department_code: str | None = None
    source: str | None = None
    limit: int = 50
    offset: int = 0


def sees_all(actor: Actor) -> bool:
    return actor.role in ("dispatcher", "gis_editor", "admin")


def _scope(actor: Actor) -> str:
    """SQL limiting rows to what `actor` may see (handlers/grid workers: their own; everyone
    with a district: its events only)."""
    role = "true" if sees_all(actor) else SCOPE_SQL.get(actor.role or "", "false")
    return f"{role} AND {district_sql(actor)}"


def scope_params(actor: Actor) -> dict[str, Any]:
    """The parameters `_scope`'s SQL names."""
    return {
        "dept": actor.department_code,
        "grids": sorted(actor.grid_codes),
        "district": actor.district_code,
    }


def list_events(cur: Any, actor: Actor, f: Filters) -> dict[str, Any]:
    """One page of a queue, newest first, with the total."""
    where = [QUEUES[f.queue], _scope(actor)]
    for name in ("status", "category", "town_code", "department_code", "source"):
        if getattr(f, name) is not None:
            where.append(f"e.{name} = %({name})s")
    params = {
        **scope_params(actor),
        "status": f.status, "category": f.category, "town_code": f.town_code,
        "department_code": f.department_code, "source": f.source,
        "limit": f.limit, "offset": f.offset,
    }  # fmt: skip
    cond = " AND ".join(where)
    cur.execute(f"SELECT count(*) AS n FROM events e WHERE {cond}", params)  # noqa: S608
    total = one(cur)["n"]
    order = "e.due_at ASC" if f.queue == "overdue" else "e.created_at DESC, e.code DESC"
    cur.execute(
        f"SELECT {EVENT_COLUMNS} FROM events e WHERE {cond} ORDER BY {order} "  # noqa: S608
        "LIMIT %(limit)s OFFSET %(offset)s",
        params,
    )
    return {"total": total, "limit": f.limit, "offset": f.offset, "events": all_rows(cur)}


def event(cur: Any, code: str, *, lock: bool = False) -> dict[str, Any] | None:
    """One event's columns (locked FOR UPDATE of events when `lock`)."""
    suffix = " FOR UPDATE OF e" if lock else ""
    cur.execute(
        f"SELECT {EVENT_COLUMNS} FROM events e WHERE e.code = %(code)s{suffix}", {"code": code}
    )
    return one(cur)


def can_see(cur: Any, actor: Actor, code: str) -> bool:
    cur.execute(
        f"SELECT 1 FROM events e WHERE e.code = %(code)s AND {_scope(actor)}",  # noqa: S608
        {"code": code, **scope_params(actor)},
    )
    return cur.fetchone() is not None


def history(cur: Any, code: str) -> list[dict[str, Any]]:
    """The timeline, oldest first (actor names are staff accounts, never reporters)."""
    cur.execute(
        "SELECT action, from_status, to_status, actor, role, at, note, department_code "
        "FROM event_actions WHERE event_code = %(code)s ORDER BY at, id",
        {"code": code},
    )
    return all_rows(cur)


def cohandlers(cur: Any, code: str) -> list[str]:
    cur.execute(
        "SELECT department_code FROM event_cohandlers WHERE event_code = %(code)s "
        "ORDER BY added_at, department_code",
        {"code": code},
    )
    return [r[0] for r in cur.fetchall()]


def contact(cur: Any, code: str) -> dict[str, Any] | None:
    """The reporter's name and phone — for dispatchers and admins only (the caller checks)."""
    cur.execute(
        "SELECT reporter_name AS name, reporter_phone AS phone FROM event_contacts "
        "WHERE event_code = %(code)s",
        {"code": code},
    )
    return one(cur)


def status_label(status: str) -> str:
    return vocab.EVENT_STATUSES.get(status, status)
