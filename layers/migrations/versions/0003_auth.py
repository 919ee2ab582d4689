"""Accounts and audit: users, api_keys, sessions, login_failures, audit_log.

Revision ID: 0003
Revises: 0002
"""

from pathlib import Path

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0003_auth.sql"


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(
        "DROP TABLE IF EXISTS audit_log, login_failures, sessions, api_keys, users CASCADE;"
        "DROP FUNCTION IF EXISTS onemap_audit_log_append_only();"
    )
