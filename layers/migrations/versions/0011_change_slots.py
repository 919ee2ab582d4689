"""Change counters over 32 slot rows per layer (no hot row for concurrent writers); events keep
their return count and auto-dispatch flag for statistics (one index-only scan per period).

Revision ID: 0011
Revises: 0010
"""

from pathlib import Path

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0011_change_slots.sql"

_BACK = """
DROP INDEX events_stats;
ALTER TABLE events ALTER COLUMN status DROP DEFAULT;
ALTER TABLE events DROP COLUMN auto_dispatched, DROP COLUMN return_count;
DROP VIEW layer_changes;
CREATE TABLE layer_changes (
    layer      text PRIMARY KEY,
    version    bigint NOT NULL DEFAULT 1,
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO layer_changes (layer, version, changed_at)
SELECT layer, sum(version), max(changed_at) FROM layer_change_slots GROUP BY layer;
DROP TABLE layer_change_slots;
CREATE OR REPLACE FUNCTION onemap_bump_layer_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO layer_changes AS c (layer, version, changed_at)
    VALUES (TG_TABLE_NAME, 1, clock_timestamp())
    ON CONFLICT (layer) DO UPDATE
        SET version = c.version + 1, changed_at = clock_timestamp();
    RETURN NULL;
END
$$;
"""


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(_BACK)
