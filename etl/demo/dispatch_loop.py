"""The demo's dispatch loop, applied set-wise after the events are loaded.

Departments and duty rules are inserted; then, in a few statements over all
events (300,000 at scale 1), each event gets the department of its most
specific rule, its grid worker, the dispatch reason, the timestamps of the
steps it has reached, a satisfaction from the call-back (citizen channels,
closed cases; drawn from the code, so deterministic for the seed) and its
timeline in `event_actions`.

Haimen's rules are district-wide (no town), as a single-district install has
them. duty_rules have no district column, so a neighbour district's rules are
town rules: Haimen's, copied onto each of its towns with its own bureaus
(QD-CGJ 启东市城市管理局 …), which beat Haimen's for its events by being
more specific (layers/dispatch/rules.py) — no migration, no new routing code.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from etl.demo import duties
from etl.demo.districts import HAIMEN_DISTRICT, District, bureau_name, department_code

DEPARTMENT_SQL = """
INSERT INTO departments (code, name, kind, town_code, phone)
VALUES (%(code)s, %(name)s, %(kind)s, NULL, %(phone)s)
"""
TOWN_OFFICES_SQL = """
INSERT INTO departments (code, name, kind, town_code, phone)
SELECT 'TOWN-' || code, name || '综治办', 'town_office', code, NULL FROM towns ORDER BY code
"""
NEIGHBOUR_RULES_SQL = """
INSERT INTO duty_rules (category, subcategory, town_code, department_code, time_limit_hours,
                        urgent_hours, critical_hours, same_day)
SELECT r.category, r.subcategory, t.code,
       CASE WHEN r.category = ANY(%(cats)s) AND r.subcategory IS NULL THEN 'TOWN-' || t.code
            ELSE %(prefix)s || '-' || r.department_code END,
       r.time_limit_hours, r.urgent_hours, r.critical_hours, r.same_day
FROM duty_rules r CROSS JOIN towns t
WHERE r.town_code IS NULL AND t.district_code = %(district)s
ORDER BY t.code, r.id
"""
RULE_SQL = """
INSERT INTO duty_rules (category, subcategory, town_code, department_code, time_limit_hours,
                        urgent_hours, critical_hours, same_day)
VALUES (%(category)s, %(subcategory)s, NULL, %(department_code)s, %(time_limit_hours)s,
        %(urgent_hours)s, %(critical_hours)s, %(same_day)s)
"""
TOWN_RULES_SQL = """
INSERT INTO duty_rules (category, subcategory, town_code, department_code, time_limit_hours,
                        urgent_hours, critical_hours, same_day)
SELECT r.category, NULL, t.code, 'TOWN-' || t.code, r.time_limit_hours, r.urgent_hours,
       r.critical_hours, r.same_day
FROM duty_rules r CROSS JOIN towns t
WHERE r.category = ANY(%(cats)s) AND r.subcategory IS NULL AND r.town_code IS NULL
  AND t.district_code = %(home)s
"""

# Steps: auto-dispatch a couple of minutes after intake; accept at 15 % of the
# handling time, resolve at 80 %, verify at 95 %; open cases up to their step.
ENRICH_SQL = """
WITH m AS (
  SELECT e.gid, r.id AS rule_id, r.department_code, d.name AS department_name, g.worker_name,
         coalesce(e.closed_at, %(now)s) - e.created_at AS span
  FROM events e
  CROSS JOIN LATERAL (
    SELECT id, department_code FROM duty_rules r
    WHERE r.category = e.category AND (r.subcategory IS NULL OR r.subcategory = e.subcategory)
      AND (r.town_code IS NULL OR r.town_code = e.town_code)
    ORDER BY (r.subcategory IS NOT NULL) DESC, (r.town_code IS NOT NULL) DESC LIMIT 1) r
  JOIN departments d ON d.code = r.department_code
  LEFT JOIN grids g ON g.code = e.grid_code AND g.valid_to IS NULL
)
UPDATE events e SET
  department_code = m.department_code, department = m.department_name, grid_worker = m.worker_name,
  dispatch_reason = 'duty rule #' || m.rule_id || ' ' || e.category || ' → ' || m.department_name
                    || ' (' || e.priority || '); inside grid ' || e.grid_code,
  dispatched_at = e.created_at + least(interval '2 minutes', m.span / 20),
  accepted_at = CASE WHEN e.status IN ('accepted', 'resolved', 'verified', 'closed')
                     THEN e.created_at + m.span * 0.15 END,
  resolved_at = CASE WHEN e.status IN ('resolved', 'verified', 'closed')
                     THEN e.created_at + m.span * 0.8 END,
  verified_at = CASE WHEN e.status IN ('verified', 'closed') THEN e.created_at + m.span * 0.95 END,
  overdue_at = CASE WHEN e.due_at < coalesce(e.closed_at, %(now)s) THEN e.due_at END,
  satisfaction = CASE WHEN e.status = 'closed' AND e.source IN ('hotline_12345', 'wechat')
                       AND e.closed_at < %(now)s - interval '1 day' THEN
      CASE WHEN mod(abs(hashtext(e.code)), 1000) < 930 THEN 'satisfied'
           WHEN mod(abs(hashtext(e.code)), 1000) < 985 THEN 'basic' ELSE 'unsatisfied' END END
FROM m WHERE m.gid = e.gid
"""

TIMELINE_SQL = """
INSERT INTO event_actions (event_code, action, from_status, to_status, actor, role, at, note,
                           department_code)
SELECT e.code, s.action, s.from_status, s.to_status, s.actor, s.role, s.at, s.note, e.department_code
FROM events e CROSS JOIN LATERAL (VALUES
  ('receive', NULL, 'received', 'system:' || e.source, NULL, e.created_at, NULL),
  ('auto_dispatch', 'received', 'dispatched', 'system:dispatch', NULL, e.dispatched_at, e.dispatch_reason),
  ('accept', 'dispatched', 'accepted', 'dept:' || e.department_code, 'handler', e.accepted_at, NULL),
  ('resolve', 'accepted', 'resolved', 'dept:' || e.department_code, 'handler', e.resolved_at, NULL),
  ('verify', 'resolved', 'verified', 'centre', 'dispatcher', e.verified_at, NULL),
  ('close', 'verified', 'closed', 'centre', 'dispatcher', e.closed_at, NULL),
  ('callback', 'closed', 'closed', 'centre', 'dispatcher', e.closed_at + interval '1 day',
   e.satisfaction)
) AS s(action, from_status, to_status, actor, role, at, note)
WHERE s.at IS NOT NULL AND (s.action <> 'callback' OR e.satisfaction IS NOT NULL)
"""

VERSION_SQL = """
UPDATE events e SET version = a.n FROM (
  SELECT event_code, count(*)::int - 1 AS n FROM event_actions GROUP BY event_code) a
WHERE a.event_code = e.code AND a.n > 1
"""


def apply(
    conn: Any, now: dt.datetime, districts: tuple[District, ...] = (HAIMEN_DISTRICT,)
) -> dict[str, int]:
    """Insert departments and rules, enrich every event, write timelines; row counts.

    `now` is the demo's "now" (etl.demo.events.now_of(anchor)), so the result
    depends on the seed and anchor only, not on the day it is loaded.
    """
    with conn.cursor() as cur:
        for d in districts:
            for code, (name, kind, phone) in duties.BUREAUS.items():
                if d is not HAIMEN_DISTRICT:
                    name = bureau_name(d, code, name)
                    phone = f"0513-8{d.code[-2:]}{phone[-5:]}" if d.city == "南通市" else None
                cur.execute(DEPARTMENT_SQL, {"code": department_code(d, code), "name": name,
                                             "kind": kind, "phone": phone})  # fmt: skip
        cur.execute(TOWN_OFFICES_SQL)
        for rule in duties.rules():
            cur.execute(RULE_SQL, rule)
        cats = list(duties.TOWN_CATEGORIES)
        cur.execute(TOWN_RULES_SQL, {"cats": cats, "home": HAIMEN_DISTRICT.code})
        for d in districts:
            if d is not HAIMEN_DISTRICT:
                cur.execute(
                    NEIGHBOUR_RULES_SQL, {"cats": cats, "prefix": d.prefix, "district": d.code}
                )
        cur.execute("SELECT count(*) FROM departments")
        counts = {"departments": cur.fetchone()[0]}
        cur.execute("SELECT count(*) FROM duty_rules")
        counts["duty_rules"] = cur.fetchone()[0]
        cur.execute(ENRICH_SQL, {"now": now})
        cur.execute(TIMELINE_SQL)
        counts["event_actions"] = cur.rowcount
        cur.execute(VERSION_SQL)
    return counts
