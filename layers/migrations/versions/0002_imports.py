"""Imports: import_log (who/when/file/checksum/counts), vehicle_trips, rasters.

Revision ID: 0002
"""

from pathlib import Path

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0002_imports.sql"


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS rasters, vehicle_trips, import_log CASCADE;"
        "DROP FUNCTION IF EXISTS onemap_try_timestamptz(text);"
    )
