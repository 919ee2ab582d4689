"""Grid editing: disjoint version ranges per code, onemap_area_m2, re-assignment indexes.

Revision ID: 0005
Revises: 0004
"""

from pathlib import Path

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0005_grid_editing.sql"


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(
        "DROP INDEX IF EXISTS grids_current_geom; DROP INDEX IF EXISTS events_open_geom;"
        "DROP FUNCTION IF EXISTS onemap_area_m2(geometry);"
        "ALTER TABLE grids DROP CONSTRAINT IF EXISTS grids_versions_disjoint;"
    )
