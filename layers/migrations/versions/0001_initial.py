"""Initial schema: towns, grids (versioned), cameras, vehicles, positions
(partitioned by day), tracks, river patrol zones, events.

Revision ID: 0001
"""

from pathlib import Path

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0001_initial.sql"


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS event_contacts, events, river_patrol_zones, vehicle_tracks, "
        "vehicle_positions, vehicles, cameras, grids, towns CASCADE;"
        "DROP FUNCTION IF EXISTS onemap_ensure_position_partition(date);"
    )
