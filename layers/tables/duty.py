"""Grid workers on duty (migration 0014): duty periods, each worker's latest position and
the positions reported on duty (kept `dispatch.duty.keep_days`)."""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Identity, Index, Table, text
from sqlalchemy.dialects.postgresql import REAL

from layers.tables.meta import geom, metadata, timestamp


def _user() -> Column:
    return Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


def _duty() -> Column:
    return Column(
        "duty_id", BigInteger, ForeignKey("worker_duties.id", ondelete="CASCADE"), nullable=False
    )


worker_duties = Table(
    "worker_duties",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    _user(),
    timestamp("started_at", nullable=False),
    timestamp("ended_at"),
    Index("worker_duties_open", "user_id", unique=True, postgresql_where=text("ended_at IS NULL")),
    Index("worker_duties_user", "user_id", "started_at"),
)

worker_positions = Table(
    "worker_positions",
    metadata,
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("fix_time", DateTime(timezone=True), primary_key=True),
    _duty(),
    Column("accuracy_m", REAL),
    geom("POINT"),
    Index("worker_positions_fix_time", "fix_time"),
    Index("worker_positions_duty", "duty_id"),
)

worker_locations = Table(
    "worker_locations",
    metadata,
    Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    _duty(),
    timestamp("fix_time", nullable=False),
    Column("accuracy_m", REAL),
    geom("POINT"),
    Index("worker_locations_geom_gist", "geom", postgresql_using="gist"),
)
