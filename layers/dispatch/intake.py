"""Intake (一门受理) with auto-dispatch (自动派单), idempotent on (source, external_id).

The hotline re-sends tickets, sometimes many copies at once: the insert is
`ON CONFLICT DO NOTHING RETURNING`, so exactly one copy creates the event and
every other copy reads the existing row (created False). A new event is
placed (locate), matched to a duty rule (rules) and either dispatched to the
rule's department with its due time, or put in the manual queue; the reason
is recorded on the event and in its timeline.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from layers.dispatch import queues, rules, timeline
from layers.dispatch.locate import Place
from layers.dispatch.rows import one
from layers.dispatch.timeline import Actor, as_json


@dataclass(frozen=True)
class Ticket:
    """An event as a sending system describes it (already checked by the caller)."""

    source: str
    external_id: str | None
    category: str
    place: Place
    subcategory: str | None = None
    description: str | None = None
    address: str | None = None
    priority: str = "normal"
    reporter_name: str | None = None
    reporter_phone: str | None = None
    photos: list[str] = field(default_factory=list)


INSERT_SQL = """
INSERT INTO events (code, title, source, external_id, category, subcategory, description, status,
  priority, grid_code, town_code, grid_worker, department_code, department, address, created_at,
  dispatched_at, due_at, dispatch_reason, photos, geom)
VALUES ('EV' || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')
          || lpad(nextval('event_code_seq')::text, 6, '0'),
  %(title)s, %(source)s, %(external_id)s, %(category)s, %(subcategory)s, %(description)s,
  %(status)s, %(priority)s, %(grid_code)s, %(town_code)s, %(grid_worker)s, %(department_code)s,
  %(department)s, %(address)s, %(now)s, %(dispatched_at)s, %(due_at)s, %(reason)s,
  %(photos)s::jsonb, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
ON CONFLICT (source, external_id) DO NOTHING
RETURNING code
"""

EXISTING_SQL = "SELECT code FROM events WHERE source = %(source)s AND external_id = %(external_id)s"

CONTACT_SQL = """
INSERT INTO event_contacts (event_code, reporter_name, reporter_phone)
VALUES (%(code)s, %(name)s, %(phone)s)
"""


def _title(t: Ticket) -> str:
    what = "·".join(x for x in (t.category, t.subcategory) if x)
    return f"{t.address} {what}" if t.address else what


def _decide(cur: Any, t: Ticket, policy: rules.Policy, now: dt.datetime) -> dict[str, Any]:
    rule = rules.find(cur, t.category, t.subcategory, t.place.town_code)
    due = rules.due_at(rule, t.priority, now, policy)
    if rule is None:
        reason = f"no duty rule for {t.category} → manual queue; {t.place.how}"
        return {"status": "manual", "department_code": None, "department": None,
                "dispatched_at": None, "due_at": due, "reason": reason}  # fmt: skip
    hours = rules.limit_hours(rule, t.priority, policy)
    reason = f"{rule.describe()} ({t.priority}, {hours:g} h); {t.place.how}"
    return {"status": "dispatched", "department_code": rule.department_code,
            "department": rule.department_name, "dispatched_at": now, "due_at": due,
            "reason": reason}  # fmt: skip


def submit(cur: Any, t: Ticket, actor: Actor, policy: rules.Policy) -> tuple[dict[str, Any], bool]:
    """(the event as `queues.event` gives it, created?) — a re-sent ticket is not created."""
    cur.execute("SELECT now() AS now")
    now = one(cur)["now"]
    decision = _decide(cur, t, policy, now)
    place = t.place
    cur.execute(
        INSERT_SQL,
        {
            **decision,
            "title": _title(t),
            "source": t.source,
            "external_id": t.external_id,
            "category": t.category,
            "subcategory": t.subcategory,
            "description": t.description,
            "priority": t.priority,
            "grid_code": place.grid_code,
            "town_code": place.town_code,
            "grid_worker": place.grid_worker,
            "address": t.address,
            "now": now,
            "photos": as_json(t.photos),
            "lon": place.lon,
            "lat": place.lat,
        },  # fmt: skip
    )
    row = one(cur)
    if row is None:  # a re-sent ticket: the first copy's event
        cur.execute(EXISTING_SQL, {"source": t.source, "external_id": t.external_id})
        return queues.event(cur, one(cur)["code"]), False
    code = row["code"]
    if t.reporter_name or t.reporter_phone:
        cur.execute(CONTACT_SQL, {"code": code, "name": t.reporter_name, "phone": t.reporter_phone})
    timeline.record(cur, code, "receive", actor, None, "received", note=f"from {t.source}")
    action = "auto_dispatch" if decision["status"] == "dispatched" else "queue_manual"
    timeline.record(
        cur, code, action, actor, "received", decision["status"],
        note=decision["reason"], department_code=decision["department_code"],
    )  # fmt: skip
    timeline.notify(cur, code)
    return queues.event(cur, code), True
