"""The dispatch loop's tables: departments, duty rules, the timeline, co-handling, user scopes.

The loop's columns on `events` itself are declared with the events table
(layers/tables/features.py); what people did to an event is `event_actions`.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Identity,
    Index,
    Numeric,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION

from layers import vocab
from layers.tables.meta import coded, metadata, timestamp, updated

departments = Table(
    "departments",
    metadata,
    Column("code", Text, primary_key=True),
    Column("name", Text, nullable=False),
    coded("kind", vocab.DEPARTMENT_KINDS),
    Column("town_code", Text),  # a town's own office (镇街办)
    Column("phone", Text),  # the department's duty phone (public)
    updated(),
)

# Category (and optionally sub-category, town) → the department responsible (三定).
duty_rules = Table(
    "duty_rules",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("category", Text, nullable=False),
    Column("subcategory", Text),
    Column("town_code", Text),
    Column(
        "department_code",
        Text,
        ForeignKey("departments.code", onupdate="CASCADE"),
        nullable=False,
    ),
    Column("time_limit_hours", DOUBLE_PRECISION, nullable=False),
    Column("urgent_hours", DOUBLE_PRECISION),
    Column("critical_hours", DOUBLE_PRECISION),
    Column("same_day", Boolean, nullable=False),  # 特事特办: urgent kinds due the same day
    Column("note", Text),
    updated(),
    UniqueConstraint(
        "category",
        "subcategory",
        "town_code",
        name="duty_rules_key",
        postgresql_nulls_not_distinct=True,
    ),
    Index("duty_rules_department", "department_code"),
)

# The timeline: one row per thing done to an event, by whom, from which state to which.
event_actions = Table(
    "event_actions",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_code", Text, ForeignKey("events.code", ondelete="CASCADE"), nullable=False),
    coded("action", vocab.EVENT_ACTIONS),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_user_id", BigInteger),
    Column("role", Text),
    timestamp("at", nullable=False),
    Column("note", Text),
    Column("department_code", Text),
    Index("event_actions_event", "event_code", "at"),
    Index("event_actions_at", "at"),
)

# 协办: departments helping the lead department on one event.
event_cohandlers = Table(
    "event_cohandlers",
    metadata,
    Column("event_code", Text, ForeignKey("events.code", ondelete="CASCADE"), primary_key=True),
    Column("department_code", Text, ForeignKey("departments.code"), primary_key=True),
    timestamp("added_at", nullable=False),
    timestamp("done_at"),  # the department recorded its part (cohandle_done, migration 0013)
    Column("done_by", Text),
    Column("done_note", Text),
)

# A grid worker's grids (a handler's department is users.department_code).
user_grids = Table(
    "user_grids",
    metadata,
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("grid_code", Text, primary_key=True),
)


# The statistics' daily rollup (migration 0013): sums by the local day received, town and
# department, kept by statement triggers on events; layers/dispatch/stats.py reads it.
event_stats_daily = Table(
    "event_stats_daily",
    metadata,
    Column("day", Date, nullable=False),
    Column("town_code", Text),
    Column("department_code", Text),
    *(Column(name, BigInteger, nullable=False, server_default="0") for name in (
        "received", "auto_dispatched", "closed", "on_time", "on_time_n", "handled_n")),
    Column("handled_s", Numeric, nullable=False, server_default="0"),
    *(Column(name, BigInteger, nullable=False, server_default="0")
      for name in ("returns", "satisfied", "rated")),
    Column("district_code", Text),  # the events' district (0016)
    UniqueConstraint("day", "town_code", "department_code", "district_code",
                     name="event_stats_daily_key", postgresql_nulls_not_distinct=True),
    Index("event_stats_daily_district", "district_code", "day"),
)  # fmt: skip
