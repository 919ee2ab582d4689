"""协办 shares a co-handling department completes; timeline actions cohandle_done and photo;
NOTIFY onemap_auth when a key or user changes (the in-process API-key cache drops its entries);
the daily statistics rollup event_stats_daily, kept by statement triggers on events.

Revision ID: 0013
Revises: 0012
"""

from pathlib import Path

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0013_dispatch_b.sql"

_BACK = """
DROP TRIGGER events_stats_insert ON events;
DROP TRIGGER events_stats_update ON events;
DROP TRIGGER events_stats_delete ON events;
DROP TRIGGER events_stats_truncate ON events;
DROP FUNCTION onemap_event_stats(), onemap_event_stats_truncate(), onemap_event_stats_sql(text);
DROP TABLE event_stats_daily;
DROP TRIGGER api_keys_auth_changed ON api_keys;
DROP TRIGGER users_auth_changed ON users;
DROP FUNCTION onemap_auth_changed();
DELETE FROM event_actions WHERE action IN ('cohandle_done', 'photo');
ALTER TABLE event_actions DROP CONSTRAINT event_actions_action_check;
ALTER TABLE event_actions ADD CONSTRAINT event_actions_action_check CHECK (action IN
    ('receive','auto_dispatch','queue_manual','dispatch','accept','return','resolve','verify',
     'reopen','close','escalate','cohandle','callback','overdue'));
ALTER TABLE event_cohandlers DROP COLUMN done_at, DROP COLUMN done_by, DROP COLUMN done_note;
"""


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(_BACK)
