"""SQLAlchemy + GeoAlchemy2 tables: the Python view of the schema.

The migrations in layers/migrations create these tables (with partitions,
constraints and indexes spelled out in SQL); tests/test_schema.py checks that
the two agree column by column.
"""

from __future__ import annotations

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    Date,
    DateTime,
    Float,
    Integer,
    MetaData,
    Table,
    Text,
)

metadata = MetaData()


def _geom(kind: str) -> Column:
    return Column("geom", Geometry(kind, srid=4326, spatial_index=False), nullable=False)


def _mercator(kind: str) -> Column:
    """The stored EPSG:3857 copy of `geom` that vector tiles read (migration 0006)."""
    return Column(
        "geom_3857",
        Geometry(kind, srid=3857, spatial_index=False),
        Computed("ST_Transform(geom, 3857)", persisted=True),
    )


def _updated() -> Column:
    return Column("updated_at", DateTime(timezone=True), nullable=False)


towns = Table(
    "towns",
    metadata,
    Column("gid", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("area_km2", Float),
    _geom("MULTIPOLYGON"),
    _mercator("MULTIPOLYGON"),
    _updated(),
)

grids = Table(
    "grids",
    metadata,
    Column("gid", BigInteger, primary_key=True),
    Column("code", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("town_code", Text, nullable=False),
    Column("grid_type", Text, nullable=False),
    Column("worker_name", Text),
    Column("worker_phone", Text),
    Column("population", Integer),
    Column("households", Integer),
    Column("area_km2", Float),
    Column("version", Integer, nullable=False),
    Column("valid_from", DateTime(timezone=True), nullable=False),
    Column("valid_to", DateTime(timezone=True)),
    _geom("MULTIPOLYGON"),
    _mercator("MULTIPOLYGON"),
    _updated(),
)

cameras = Table(
    "cameras",
    metadata,
    Column("gid", BigInteger, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("stream_url", Text),
    Column("status", Text, nullable=False),
    Column("grid_code", Text),
    Column("town_code", Text),
    Column("installed_on", Date),
    _geom("POINT"),
    _mercator("POINT"),
    _updated(),
)

vehicles = Table(
    "vehicles",
    metadata,
    Column("gid", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("plate", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("company", Text),
    Column("town_code", Text),
    Column("last_fix_at", DateTime(timezone=True)),
    Column("speed_kmh", Float),
    Column("heading", Float),
    Column("geom", Geometry("POINT", srid=4326, spatial_index=False)),
    _mercator("POINT"),
    _updated(),
)

vehicle_positions = Table(
    "vehicle_positions",
    metadata,
    Column("id", BigInteger, nullable=False),
    Column("vehicle_code", Text, primary_key=True),
    Column("fix_time", DateTime(timezone=True), primary_key=True),
    Column("speed_kmh", Float),
    Column("heading", Float),
    _geom("POINT"),
    postgresql_partition_by="RANGE (fix_time)",
)

vehicle_tracks = Table(
    "vehicle_tracks",
    metadata,
    Column("gid", BigInteger, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("vehicle_code", Text, nullable=False),
    Column("plate", Text),
    Column("kind", Text),
    Column("day", Date, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=False),
    Column("fix_count", Integer, nullable=False),
    Column("distance_km", Float),
    Column("geom", Geometry("LINESTRINGM", srid=4326, spatial_index=False), nullable=False),
    _mercator("LINESTRINGM"),
    _updated(),
)

river_patrol_zones = Table(
    "river_patrol_zones",
    metadata,
    Column("gid", Integer, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("name", Text, nullable=False),
    Column("river", Text, nullable=False),
    Column("zone_kind", Text, nullable=False),
    Column("river_chief", Text),
    Column("river_chief_level", Text),
    Column("town_code", Text),
    Column("area_km2", Float),
    _geom("MULTIPOLYGON"),
    _mercator("MULTIPOLYGON"),
    _updated(),
)

events = Table(
    "events",
    metadata,
    Column("gid", BigInteger, primary_key=True),
    Column("code", Text, nullable=False, unique=True),
    Column("title", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("category", Text, nullable=False),
    Column("subcategory", Text),
    Column("status", Text, nullable=False),
    Column("priority", Text, nullable=False),
    Column("grid_code", Text),
    Column("town_code", Text),
    Column("department", Text),
    Column("address", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("due_at", DateTime(timezone=True)),
    Column("closed_at", DateTime(timezone=True)),
    _geom("POINT"),
    _mercator("POINT"),
    _updated(),
)

# Reporter contact details: private, kept out of `events` so that no public
# query of the events layer can reach them by accident.
event_contacts = Table(
    "event_contacts",
    metadata,
    Column("event_code", Text, primary_key=True),
    Column("reporter_name", Text),
    Column("reporter_phone", Text),
)
