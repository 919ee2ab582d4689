"""A district (admin code) on every feature layer, set from the feature's town; users'
district scope (helper G, issue 16).

The configured district (settings `district.code`) is passed by `layers.migrate.upgrade`
as the Alembic attribute `district_code`; without it, the demo's Haimen (320614).

Revision ID: 0015
Revises: 0014
"""

import re
from pathlib import Path

from alembic import context, op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0015_districts.sql"
_DEFAULT = "320614"
_TABLES = (
    "towns",
    "grids",
    "cameras",
    "vehicles",
    "vehicle_tracks",
    "river_patrol_zones",
    "events",
)


def _district() -> str:
    code = str(context.config.attributes.get("district_code") or _DEFAULT)
    if not re.fullmatch(r"\d{6}", code):
        raise ValueError(f"district.code must be a 6-digit admin code, not {code!r}")
    return code


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8").replace("{district}", _district()))


def downgrade() -> None:
    op.execute("DROP TRIGGER towns_district_moved ON towns")
    op.execute("DROP TRIGGER vehicles_district_moved ON vehicles")
    op.execute("DROP FUNCTION onemap_town_district_moved()")
    op.execute("DROP FUNCTION onemap_vehicle_district_moved()")
    op.execute("ALTER TABLE users DROP COLUMN district_code")
    for table in _TABLES:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_district ON {table}")
        op.execute(f"ALTER TABLE {table} DROP COLUMN district_code")
    op.execute("DROP FUNCTION onemap_district_from_town()")
    op.execute("DROP FUNCTION onemap_district_from_vehicle()")
