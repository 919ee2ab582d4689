"""Run and inspect the Alembic migrations that own the schema."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, pool, text
from sqlalchemy.engine import Connection

from layers.tables import metadata

_SCRIPTS = Path(__file__).resolve().parent / "migrations"
# PostGIS's own table: the extension's, not onemap's.
_NOT_OURS = frozenset({"spatial_ref_sys"})


def _config(sqlalchemy_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url.replace("%", "%%"))
    return cfg


def upgrade(sqlalchemy_url: str, revision: str = "head", district_code: str | None = None) -> None:
    """Migrate; `district_code` (settings district.code) is the district of existing rows."""
    cfg = _config(sqlalchemy_url)
    if district_code is not None:
        cfg.attributes["district_code"] = district_code
    command.upgrade(cfg, revision)


def head_revision() -> str:
    return ScriptDirectory.from_config(_config("postgresql://")).get_current_head()


def current_revision(sqlalchemy_url: str) -> str | None:
    engine = create_engine(sqlalchemy_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def comparison_options(conn: Connection) -> dict[str, Any]:
    """How the database is compared with `layers.tables` (autogenerate, `alembic check`).

    Partitions of vehicle_positions (one table per day, made at run time) and
    PostGIS's tables are not in the metadata and are left out by name (looked up
    on the first table compared, so a plain upgrade never queries them); triggers,
    functions, CHECK constraints and defaults are not compared by Alembic at all.
    """

    @functools.cache
    def partitions() -> frozenset[str]:
        query = text("SELECT relname FROM pg_class WHERE relispartition")
        return frozenset(conn.execute(query).scalars())

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "table" or (name not in partitions() and name not in _NOT_OURS)

    return {"target_metadata": metadata, "include_name": include_name, "compare_type": True}


def schema_drift(sqlalchemy_url: str) -> list[Any]:
    """What differs between the migrated database and `layers.tables` (empty: they agree)."""
    engine = create_engine(sqlalchemy_url, poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts=comparison_options(conn))
            return compare_metadata(context, metadata)
    finally:
        engine.dispose()
