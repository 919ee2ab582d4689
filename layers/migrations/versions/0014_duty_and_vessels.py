"""Grid workers on duty (duty periods, latest and day positions); fishing boats and cargo
ships as vehicle kinds; the 禁捕区-at-night geofence rule (helper D).

Revision ID: 0014
Revises: 0013
"""

from pathlib import Path

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0014_duty_and_vessels.sql"

_BACK = """
DROP TABLE worker_locations;
DROP TABLE worker_positions;
DROP TABLE worker_duties;
DELETE FROM geofence_alerts WHERE rule = 'fishing_ban_night';
ALTER TABLE geofence_alerts DROP CONSTRAINT geofence_alerts_rule_check;
ALTER TABLE geofence_alerts ADD CONSTRAINT geofence_alerts_rule_check
    CHECK (rule IN ('forbidden_zone', 'left_patrol_zone'));
ALTER TABLE vehicles DROP CONSTRAINT vehicles_kind_check;
ALTER TABLE vehicles ADD CONSTRAINT vehicles_kind_check
    CHECK (kind IN ('sanitation','muck','sweeper','patrol_boat'));
"""


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(_BACK)
