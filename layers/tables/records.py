"""The tables that record what happened around the layers: imports, published
rasters, change counters, accounts and the audit trail."""

from __future__ import annotations

from sqlalchemy import (
    ARRAY,
    BigInteger,
    Column,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Table,
    Text,
    desc,
    text,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, INET, JSONB

from layers.tables.meta import metadata, timestamp


def _identity_id() -> Column:
    return Column("id", BigInteger, Identity(always=True), primary_key=True)


# One row per import or job run: who, when, which file, with what result (etl/importlog.py).
import_log = Table(
    "import_log",
    metadata,
    _identity_id(),
    timestamp("started_at", nullable=False),
    timestamp("finished_at", nullable=False),
    Column("who", Text, nullable=False),
    Column("layer", Text, nullable=False),
    Column("job", Text),
    Column("file_name", Text),
    Column("sha256", Text),
    Column("status", Text, nullable=False),
    *(
        Column(name, Integer, nullable=False)
        for name in ("read_count", "inserted", "updated", "unchanged", "repaired", "rejected")
    ),
    Column("message", Text),
    Column("details", JSONB, nullable=False),
    Index("import_log_layer_time", "layer", desc("started_at")),
    Index("import_log_sha256", "sha256"),
)

# Rasters published as OGC API coverages (Cloud-Optimized GeoTIFFs, etl/raster.py).
rasters = Table(
    "rasters",
    metadata,
    Column("id", Text, primary_key=True),
    Column("title", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("path", Text, nullable=False),
    Column("source_file", Text),
    Column("sha256", Text),
    Column("crs", Text, nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("band_count", Integer, nullable=False),
    Column("dtype", Text, nullable=False),
    Column("nodata", DOUBLE_PRECISION),
    *(
        Column(name, DOUBLE_PRECISION, nullable=False)
        for name in ("min_lon", "min_lat", "max_lon", "max_lat")
    ),
    Column("overviews", ARRAY(Integer), nullable=False),
    Column("imported_by", Text),
    timestamp("imported_at", nullable=False),
)

# Change counters per layer table, bumped by statement-level triggers (HTTP caching):
# 32 slot rows per layer (migration 0011), read through the view `layer_changes`.
layer_change_slots = Table(
    "layer_change_slots",
    metadata,
    Column("layer", Text, primary_key=True),
    Column("slot", SmallInteger, primary_key=True),
    Column("version", BigInteger, nullable=False, server_default=text("0")),
    timestamp("changed_at", nullable=False),
)

users = Table(
    "users",
    metadata,
    _identity_id(),
    Column("username", Text, nullable=False, unique=True),
    Column("display_name", Text),
    Column("role", Text, nullable=False),
    Column("password_hash", Text, nullable=False),
    timestamp("created_at", nullable=False),
    timestamp("disabled_at"),
    timestamp("last_login_at"),
    Column("department_code", Text),  # a handler's department (migration 0007)
    Column("district_code", Text),  # the district they act in; NULL: the whole city (0015)
)


def _user_id() -> Column:
    return Column("user_id", BigInteger, ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


# Keys are stored as the SHA-256 of the whole key; key_id names the key in lists and logs.
api_keys = Table(
    "api_keys",
    metadata,
    _identity_id(),
    Column("key_id", Text, nullable=False, unique=True),
    _user_id(),
    Column("name", Text, nullable=False),
    Column("secret_hash", Text, nullable=False),
    timestamp("created_at", nullable=False),
    timestamp("expires_at"),
    timestamp("revoked_at"),
    timestamp("last_used_at"),
    # scoped keys (migration 0012): a role below the user's, and the collections it may
    # write or read when they are restricted (NULL: the user's role; every collection)
    Column("role", Text),
    Column("collections", ARRAY(Text)),
    Index("api_keys_user", "user_id"),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", Text, primary_key=True),
    _user_id(),
    Column("csrf_token", Text, nullable=False),
    timestamp("created_at", nullable=False),
    timestamp("expires_at", nullable=False),
    Column("client_ip", INET),
    Column("user_agent", Text),
    Index("sessions_user", "user_id"),
    Index("sessions_expires", "expires_at"),
)

login_failures = Table(
    "login_failures",
    metadata,
    _identity_id(),
    Column("username", Text, nullable=False),
    Column("client", Text, nullable=False),
    timestamp("at", nullable=False),
    Index("login_failures_key", "username", "client", "at"),
)

# Append-only (a trigger refuses UPDATE and DELETE): who changed what, before/after.
audit_log = Table(
    "audit_log",
    metadata,
    _identity_id(),
    timestamp("at", nullable=False),
    Column("actor", Text, nullable=False),
    Column("actor_user_id", BigInteger),
    Column("role", Text),
    Column("auth_method", Text),
    Column("api_key_id", Text),
    Column("action", Text, nullable=False),
    Column("layer", Text),
    Column("feature_id", Text),
    Column("before", JSONB),
    Column("after", JSONB),
    Column("client_ip", INET),
    # the tamper-evident chain (migration 0009): filled by the insert trigger
    Column("chain_seq", BigInteger, nullable=False),
    Column("prev_hash", LargeBinary),
    Column("row_hash", LargeBinary, nullable=False),
    Index("audit_log_at", "at"),
    Index("audit_log_chain_seq", "chain_seq", unique=True),
    Index("audit_log_feature", "layer", "feature_id", "at"),
    Index("audit_log_actor", "actor", "at"),
)
