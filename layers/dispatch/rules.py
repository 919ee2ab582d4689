"""Duty rules (三定): which department handles a category, and by when.

The most specific rule wins: category + sub-category + town, then category +
sub-category, then category + town, then category alone. The due time is the
rule's limit for the priority (its own override, else the policy's), and
特事特办: a `same_day` rule's urgent and critical events are due by the end of
the local day (but never sooner than the critical limit).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from layers.dispatch.rows import one

LOCAL = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class Policy:
    """The settings the loop needs (gis_server passes `dispatch:` from config.yml)."""

    snap_m: float = 300.0
    urgent_hours: float = 24.0
    critical_hours: float = 4.0
    manual_hours: float = 120.0  # due time of an event no rule matched, until dispatched


@dataclass(frozen=True)
class Rule:
    id: int
    category: str
    subcategory: str | None
    town_code: str | None
    department_code: str
    department_name: str
    time_limit_hours: float
    urgent_hours: float | None
    critical_hours: float | None
    same_day: bool

    def describe(self) -> str:
        what = "·".join(x for x in (self.category, self.subcategory) if x)
        where = f" @{self.town_code}" if self.town_code else ""
        return f"duty rule #{self.id} {what}{where} → {self.department_name}"


# {town}: the event's town — a parameter here, the place's column where intake locates and
# matches in one statement (layers/dispatch/intake.py).
RULE_TEMPLATE = """
SELECT r.id, r.category, r.subcategory, r.town_code, r.department_code, d.name AS department_name,
       r.time_limit_hours, r.urgent_hours, r.critical_hours, r.same_day
FROM duty_rules r JOIN departments d ON d.code = r.department_code
WHERE r.category = %(category)s
  AND (r.subcategory IS NULL OR r.subcategory = %(subcategory)s)
  AND (r.town_code IS NULL OR r.town_code = {town})
  AND (%(department_code)s::text IS NULL OR r.department_code = %(department_code)s)
ORDER BY (r.subcategory IS NOT NULL) DESC, (r.town_code IS NOT NULL) DESC
LIMIT 1
"""
RULE_SQL = RULE_TEMPLATE.format(town="%(town_code)s")


def find(
    cur: Any,
    category: str,
    subcategory: str | None,
    town_code: str | None,
    department_code: str | None = None,
) -> Rule | None:
    """The most specific rule for the event (of `department_code` only, when given), or None."""
    cur.execute(RULE_SQL, {"category": category, "subcategory": subcategory,
                           "town_code": town_code, "department_code": department_code})  # fmt: skip
    row = one(cur)
    return Rule(**row) if row else None


def for_dispatch(cur: Any, ev: dict[str, Any], department_code: str) -> tuple[Rule | None, str]:
    """The rule whose time limit a manual dispatch to `department_code` takes, and how it was chosen.

    The chosen department's own duty rule for the category first (its 三定 time limit);
    a department without one gets the category's rule of whoever holds it (the limit belongs to
    the kind of work); a category without any rule keeps the event's earlier due time (None).
    """
    key = (ev["category"], ev["subcategory"], ev["town_code"])
    rule = find(cur, *key, department_code)
    if rule is not None:
        return rule, rule.describe()
    rule = find(cur, *key)
    if rule is not None:
        return (
            rule,
            f"no duty rule of {department_code} for {ev['category']}: limit of {rule.describe()}",
        )
    return None, f"no duty rule for {ev['category']}: due time kept"


def limit_hours(rule: Rule | None, priority: str, policy: Policy) -> float:
    """Hours allowed for an event of `priority` under `rule`."""
    if rule is None:
        return policy.manual_hours
    if priority == "critical":
        return rule.critical_hours or min(policy.critical_hours, rule.time_limit_hours)
    if priority == "urgent":
        return rule.urgent_hours or min(policy.urgent_hours, rule.time_limit_hours)
    return rule.time_limit_hours


def due_at(rule: Rule | None, priority: str, start: dt.datetime, policy: Policy) -> dt.datetime:
    """When an event received at `start` must be closed."""
    due = start + dt.timedelta(hours=limit_hours(rule, priority, policy))
    if rule is not None and rule.same_day and priority in ("urgent", "critical"):
        local = start.astimezone(LOCAL)
        end_of_day = dt.datetime.combine(local.date(), dt.time(23, 59, 59), LOCAL)
        floor = start + dt.timedelta(hours=policy.critical_hours)
        due = min(due, max(end_of_day, floor))
    return due
