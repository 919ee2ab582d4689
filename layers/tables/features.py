"""The layer tables, the private contacts of events and the vehicle trips.

`info={"enum": ...}` on a text column: the vocabulary (layers/vocab.py) the
migration's CHECK constraint allows, listed as the OGC queryable's enum.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    Date,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, JSONB, REAL

from layers import vocab
from layers.tables.meta import (
    coded,
    district,
    geom,
    gid,
    gist,
    mercator,
    metadata,
    timestamp,
    updated,
)

towns = Table(
    "towns",
    metadata,
    gid(Integer),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    coded("kind", vocab.TOWN_KINDS),
    Column("area_km2", DOUBLE_PRECISION),
    geom("MULTIPOLYGON"),
    mercator("MULTIPOLYGON"),
    updated(),
    district(),  # migration 0015
    Index("towns_district_code", "district_code"),
    gist("towns"),
)

# Versioned: an edit closes a row (valid_to) and opens the next version.
grids = Table(
    "grids",
    metadata,
    gid(),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("town_code", Text, nullable=False),
    coded("grid_type", vocab.GRID_TYPES),
    Column("worker_name", Text),
    Column("worker_phone", Text),
    Column("population", Integer),
    Column("households", Integer),
    Column("area_km2", DOUBLE_PRECISION),
    Column("version", Integer, nullable=False),
    timestamp("valid_from", nullable=False),
    timestamp("valid_to"),
    geom("MULTIPOLYGON"),
    mercator("MULTIPOLYGON"),
    updated(),
    district(),  # migration 0015
    Index("grids_district_code", "district_code"),
    UniqueConstraint("code", "version"),
    Index("grids_code_current", "code", unique=True, postgresql_where=text("valid_to IS NULL")),
    gist("grids"),
    Index("grids_town_code", "town_code"),
    Index("grids_type", "grid_type"),
    Index("grids_valid", "valid_from", "valid_to"),
    Index(
        "grids_current_geom",
        "geom",
        postgresql_using="gist",
        postgresql_where=text("valid_to IS NULL"),
    ),
)

cameras = Table(
    "cameras",
    metadata,
    gid(),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    coded("kind", vocab.CAMERA_KINDS),
    Column("stream_url", Text),
    coded("status", vocab.CAMERA_STATUSES),
    Column("grid_code", Text),
    Column("town_code", Text),
    Column("installed_on", Date),
    geom("POINT"),
    mercator("POINT"),
    updated(),
    district(),  # migration 0015
    Index("cameras_district_code", "district_code"),
    gist("cameras"),
    Index("cameras_grid_code", "grid_code"),
    Index("cameras_status", "status"),
    Index("cameras_kind", "kind"),
)

# Vehicles carry their last known position, updated by the GPS feed.
vehicles = Table(
    "vehicles",
    metadata,
    gid(Integer),
    Column("code", Text, nullable=False, unique=True),
    Column("plate", Text, nullable=False),
    coded("kind", vocab.VEHICLE_KINDS),
    Column("company", Text),
    Column("town_code", Text),
    timestamp("last_fix_at"),
    Column("speed_kmh", DOUBLE_PRECISION),
    Column("heading", DOUBLE_PRECISION),
    geom("POINT", nullable=True),
    mercator("POINT"),
    updated(),
    district(),  # migration 0015
    Index("vehicles_district_code", "district_code"),
    gist("vehicles"),
    Index("vehicles_kind", "kind"),
    Index("vehicles_plate", "plate"),
)

# GPS fixes, partitioned by Asia/Shanghai day on fix_time (the partitions and
# onemap_ensure_position_partition are the migration's); the key deduplicates feeds.
vehicle_positions = Table(
    "vehicle_positions",
    metadata,
    Column("id", BigInteger, nullable=False),
    Column("vehicle_code", Text, nullable=False),
    timestamp("fix_time", nullable=False),
    Column("speed_kmh", REAL),
    Column("heading", REAL),
    geom("POINT"),
    Index("vehicle_positions_geom_gist", "geom", postgresql_using="gist"),
    Index("vehicle_positions_fix_time", "fix_time"),
    Index("vehicle_positions_id", "id"),
    PrimaryKeyConstraint("vehicle_code", "fix_time"),
    postgresql_partition_by="RANGE (fix_time)",
)

# One track per vehicle and day: M = epoch seconds of each fix.
vehicle_tracks = Table(
    "vehicle_tracks",
    metadata,
    gid(),
    Column("code", Text, nullable=False, unique=True),
    Column("vehicle_code", Text, nullable=False),
    Column("plate", Text),
    coded("kind", vocab.VEHICLE_KINDS, nullable=True),
    Column("day", Date, nullable=False),
    timestamp("started_at", nullable=False),
    timestamp("ended_at", nullable=False),
    Column("fix_count", Integer, nullable=False),
    Column("distance_km", DOUBLE_PRECISION),
    geom("LINESTRINGM"),
    mercator("LINESTRINGM"),
    updated(),
    district(),  # migration 0015
    Index("vehicle_tracks_district_code", "district_code"),
    UniqueConstraint("vehicle_code", "day"),
    gist("vehicle_tracks"),
    Index("vehicle_tracks_time", "started_at", "ended_at"),
)

river_patrol_zones = Table(
    "river_patrol_zones",
    metadata,
    gid(Integer),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("river", Text, nullable=False),
    coded("zone_kind", vocab.ZONE_KINDS),
    Column("river_chief", Text),
    Column("river_chief_level", Text),
    Column("town_code", Text),
    Column("area_km2", DOUBLE_PRECISION),
    geom("MULTIPOLYGON"),
    mercator("MULTIPOLYGON"),
    updated(),
    district(),  # migration 0015
    Index("river_patrol_zones_district_code", "district_code"),
    gist("river_patrol_zones"),
    Index("river_patrol_zones_kind", "zone_kind"),
)

events = Table(
    "events",
    metadata,
    gid(),
    Column("code", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False),
    coded("source", vocab.EVENT_SOURCES),
    Column("category", Text, nullable=False),
    Column("subcategory", Text),
    coded("status", vocab.EVENT_STATUSES),
    coded("priority", vocab.EVENT_PRIORITIES),
    Column("grid_code", Text),
    Column("town_code", Text),
    Column("department", Text),
    Column("address", Text),
    timestamp("created_at", nullable=False),
    timestamp("due_at"),
    timestamp("closed_at"),
    geom("POINT"),
    mercator("POINT"),
    updated(),
    district(),  # migration 0015
    Index("events_district_code", "district_code", "status"),
    # the dispatch loop (migration 0007): never personal data of the reporter here
    Column("external_id", Text),  # the sending system's ticket id (idempotent intake)
    Column("description", Text),
    Column("department_code", Text),
    Column("grid_worker", Text),
    Column("dispatch_reason", Text),
    Column("version", Integer, nullable=False),
    Column("escalation_level", Integer, nullable=False),
    coded("satisfaction", vocab.SATISFACTION, nullable=True),
    Column("photos", JSONB, nullable=False),
    timestamp("dispatched_at"),
    timestamp("accepted_at"),
    timestamp("resolved_at"),
    timestamp("verified_at"),
    timestamp("overdue_at"),
    # statistics (migration 0011): 退回 count kept by the lifecycle, auto-dispatch from the reason
    Column("return_count", Integer, nullable=False),
    Column(
        "auto_dispatched",
        Boolean,
        Computed("coalesce(dispatch_reason LIKE 'duty rule%', false)", persisted=True),
    ),
    UniqueConstraint("source", "external_id", name="events_source_external_id"),
    Index("events_department_code", "department_code", "status"),
    gist("events"),
    Index("events_created_at", "created_at"),
    Index(
        "events_stats",
        "created_at",
        postgresql_include=[
            "town_code",
            "department_code",
            "status",
            "closed_at",
            "due_at",
            "satisfaction",
            "return_count",
            "auto_dispatched",
        ],
    ),  # fmt: skip
    Index("events_status", "status"),
    Index("events_category", "category"),
    Index("events_grid_code", "grid_code"),
    Index("events_due_at", "due_at", postgresql_where=text("status <> 'closed'")),
    Index(
        "events_open_geom",
        "geom",
        postgresql_using="gist",
        postgresql_where=text("status <> 'closed'"),
    ),
)

# Reporter contact details: private, kept out of `events` so that no public
# query of the events layer can reach them by accident.
event_contacts = Table(
    "event_contacts",
    metadata,
    Column("event_code", Text, ForeignKey("events.code", ondelete="CASCADE"), primary_key=True),
    Column("reporter_name", Text),
    Column("reporter_phone", Text),
)

# Trips: a vehicle's movement between stops or feed gaps within one day.
vehicle_trips = Table(
    "vehicle_trips",
    metadata,
    gid(),
    Column("code", Text, nullable=False, unique=True),
    Column("vehicle_code", Text, nullable=False),
    Column("day", Date, nullable=False),
    timestamp("started_at", nullable=False),
    timestamp("ended_at", nullable=False),
    Column("fix_count", Integer, nullable=False),
    Column("distance_km", DOUBLE_PRECISION),
    Column("max_speed_kmh", DOUBLE_PRECISION),
    geom("LINESTRINGM"),
    updated(),
    Index("vehicle_trips_vehicle_day", "vehicle_code", "day"),
    Index("vehicle_trips_time", "started_at", "ended_at"),
    gist("vehicle_trips"),
)
