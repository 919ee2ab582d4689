"""Tables of the live feed: forbidden zones and geofence alert episodes (migration 0008),
JT/T 808 terminals mapped to vehicles (migration 0010)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    Identity,
    Index,
    Integer,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from layers.tables.meta import geom, gid, gist, metadata, timestamp, updated

forbidden_zones = Table(
    "forbidden_zones",
    metadata,
    gid(Integer),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kinds", ARRAY(Text), nullable=False),
    geom("MULTIPOLYGON"),
    updated(),
    gist("forbidden_zones"),
)

geofence_alerts = Table(
    "geofence_alerts",
    metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("rule", Text, nullable=False),
    Column("vehicle_code", Text, nullable=False),
    Column("zone_code", Text, nullable=False),
    timestamp("started_at", nullable=False),
    timestamp("last_seen_at", nullable=False),
    timestamp("ended_at"),
    Column("fix_count", Integer, nullable=False),
    geom("POINT"),
    timestamp("created_at", nullable=False),
    Index(
        "geofence_alerts_open",
        "vehicle_code",
        "rule",
        "zone_code",
        unique=True,
        postgresql_where=text("ended_at IS NULL"),
    ),
    Index("geofence_alerts_started", "started_at"),
)

jt808_terminals = Table(
    "jt808_terminals",
    metadata,
    Column("phone", Text, primary_key=True),
    Column("vehicle_code", Text, nullable=False),
    Column("auth_code", Text),
    Column("plate", Text),
    timestamp("registered_at"),
    timestamp("last_seen_at"),
    timestamp("created_at", nullable=False),
    Index("jt808_terminals_vehicle", "vehicle_code"),
)

# Vehicle-days whose day track and trips are behind their stored fixes (migration 0017):
# ingest queues one row per vehicle-day a batch touched; etl/feed/derive.py serves and deletes them.
vehicle_derive_queue = Table(
    "vehicle_derive_queue",
    metadata,
    Column("id", BigInteger, primary_key=True),
    Column("vehicle_code", Text, nullable=False),
    Column("day", Date, nullable=False),
    timestamp("first_fix", nullable=False),
    Column("fixes", Integer, nullable=False),
    Column("queued_at", DateTime(timezone=True), nullable=False,
           server_default=text("clock_timestamp()")),
    Index("vehicle_derive_queue_day", "vehicle_code", "day"),
)
