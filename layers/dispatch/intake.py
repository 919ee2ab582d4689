"""Intake (一门受理) with auto-dispatch (自动派单), idempotent on (source, external_id).

The hotline re-sends tickets, sometimes many copies at once: the insert is
`ON CONFLICT DO NOTHING RETURNING`, so exactly one copy creates the event and
every other copy reads the existing row (created False). A new event is
placed (locate), matched to a duty rule (rules) and either dispatched to the
rule's department with its due time, or put in the manual queue; the reason
is recorded on the event and in its timeline.

Intake runs at hundreds a second, so its round trips are few: a point is located
and matched in one statement (`locate_and_match`), and the event, its contact,
both timeline rows and the live notice are written by one more (`WRITE_SQL`);
the decision between them (due time, reason) stays in Python, the one copy of
the rules that manual dispatch uses too.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from layers.dispatch import locate, queues, rules, timeline
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
RETURNING *
"""

# The whole write of a new event in one statement: the row, the reporter's contact, the two
# timeline rows (受理, then 自动派单 or 转人工) and the live notice. A re-sent ticket inserts
# nothing, so nothing else happens and no row comes back.
WRITE_SQL = f"""
WITH ev AS ({INSERT_SQL}),
contact AS (
  INSERT INTO event_contacts (event_code, reporter_name, reporter_phone)
  SELECT code, %(reporter_name)s, %(reporter_phone)s FROM ev
  WHERE %(reporter_name)s::text IS NOT NULL OR %(reporter_phone)s::text IS NOT NULL
),
steps AS (
  INSERT INTO event_actions (event_code, action, from_status, to_status, actor, actor_user_id,
                             role, note, department_code, at)
  SELECT ev.code, s.action, s.from_status, s.to_status, %(actor)s, %(user_id)s, %(role)s,
         s.note, s.department_code, clock_timestamp()
  FROM ev CROSS JOIN (VALUES
    (1, 'receive', NULL::text, 'received', %(receive_note)s::text, NULL::text),
    (2, %(action)s, 'received', %(status)s, %(reason)s, %(department_code)s)
  ) AS s (n, action, from_status, to_status, note, department_code)
  ORDER BY s.n
),
live AS (SELECT pg_notify('{timeline.LIVE_CHANNEL}', {timeline.PAYLOAD_SQL}) FROM ev)
SELECT {queues.EVENT_COLUMNS} FROM ev e CROSS JOIN (SELECT count(*) FROM live) sent
"""

EXISTING_SQL = f"""
SELECT {queues.EVENT_COLUMNS} FROM events e
WHERE e.source = %(source)s AND e.external_id = %(external_id)s
"""

# Locate a point and match its duty rule in one statement (the rule by the place's town).
PLACE_RULE_SQL = f"""
WITH here AS ({locate.POINT_SQL})
SELECT here.*, now() AS now, to_jsonb(rule) AS rule
FROM here LEFT JOIN LATERAL (
  {rules.RULE_TEMPLATE.format(town="coalesce(here.grid_town, here.town_code)")}
) rule ON true
"""


def _title(t: Ticket) -> str:
    what = "·".join(x for x in (t.category, t.subcategory) if x)
    return f"{t.address} {what}" if t.address else what


def _decide(
    t: Ticket, rule: rules.Rule | None, policy: rules.Policy, now: dt.datetime
) -> dict[str, Any]:
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


def locate_and_match(
    cur: Any, lon: float, lat: float, snap_m: float, category: str, subcategory: str | None
) -> tuple[Place, rules.Rule | None, dt.datetime]:
    """(the place of a WGS84 point, the duty rule there, the transaction's now) in one statement."""
    cur.execute(PLACE_RULE_SQL, {"lon": lon, "lat": lat, "snap_m": snap_m, "category": category,
                                 "subcategory": subcategory, "department_code": None})  # fmt: skip
    row = one(cur) or {}
    found = row.get("rule")
    if isinstance(found, str):  # a driver that hands jsonb over as text
        found = json.loads(found)
    rule = rules.Rule(**found) if found and found.get("id") is not None else None
    return locate.from_row(row, lon, lat, snap_m), rule, row["now"]


def submit(
    cur: Any,
    t: Ticket,
    actor: Actor,
    policy: rules.Policy,
    matched: tuple[rules.Rule | None, dt.datetime] | None = None,
) -> tuple[dict[str, Any], bool]:
    """(the event as `queues.event` gives it, created?) — a re-sent ticket is not created.

    `matched`: the (rule, now) `locate_and_match` found with the place; else looked up here.
    A new ticket costs one statement more (the write); a re-sent one two (the write finds the
    ticket taken, then the existing event is read in a fresh snapshot, which sees it).
    """
    if matched is None:
        cur.execute("SELECT now() AS now")
        now = one(cur)["now"]
        rule = rules.find(cur, t.category, t.subcategory, t.place.town_code)
    else:
        rule, now = matched
    decision = _decide(t, rule, policy, now)
    place = t.place
    dispatched = decision["status"] == "dispatched"
    cur.execute(
        WRITE_SQL,
        {
            **decision,
            "title": _title(t), "source": t.source, "external_id": t.external_id,
            "category": t.category, "subcategory": t.subcategory, "description": t.description,
            "priority": t.priority, "grid_code": place.grid_code, "town_code": place.town_code,
            "grid_worker": place.grid_worker, "address": t.address, "now": now,
            "photos": as_json(t.photos), "lon": place.lon, "lat": place.lat,
            "reporter_name": t.reporter_name, "reporter_phone": t.reporter_phone,
            "actor": actor.name, "user_id": actor.user_id, "role": actor.role,
            "receive_note": f"from {t.source}",
            "action": "auto_dispatch" if dispatched else "queue_manual",
        },
    )  # fmt: skip
    row = one(cur)
    if row is not None:
        return row, True
    cur.execute(EXISTING_SQL, {"source": t.source, "external_id": t.external_id})
    return one(cur), False
