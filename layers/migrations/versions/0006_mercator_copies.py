"""Stored EPSG:3857 copies (generated columns) of the tiled layers' geometry, for MVT tiles.

Revision ID: 0006
Revises: 0005
"""

from pathlib import Path

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0006_mercator_copies.sql"


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


_TABLES = (
    "towns",
    "grids",
    "cameras",
    "vehicles",
    "vehicle_tracks",
    "river_patrol_zones",
    "events",
)


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS geom_3857")
