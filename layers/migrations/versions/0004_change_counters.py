"""Per-layer change counters (layer_changes) bumped by statement-level triggers, for HTTP caching.

Revision ID: 0004
Revises: 0003
"""

from pathlib import Path

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0004_change_counters.sql"
_TABLES = (
    "towns", "grids", "cameras", "vehicles", "vehicle_positions",
    "vehicle_tracks", "river_patrol_zones", "events",
)  # fmt: skip


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    for table in _TABLES:
        op.execute(f'DROP TRIGGER IF EXISTS "{table}_layer_change" ON "{table}"')
        op.execute(f'DROP TRIGGER IF EXISTS "{table}_layer_truncate" ON "{table}"')
    op.execute(
        "DROP TABLE IF EXISTS layer_changes; DROP FUNCTION IF EXISTS onemap_bump_layer_change();"
    )
