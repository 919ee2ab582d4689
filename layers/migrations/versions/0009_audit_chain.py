"""The audit trail chained by SHA-256 (tamper-evident; `onemap audit verify`).

Revision ID: 0009
Revises: 0008
"""

from pathlib import Path

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0009_audit_chain.sql"


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS audit_log_chain ON audit_log")
    op.execute("DROP FUNCTION IF EXISTS onemap_audit_chain()")
    op.execute("DROP FUNCTION IF EXISTS onemap_audit_digest(bytea, audit_log)")
    op.execute(
        "ALTER TABLE audit_log DROP COLUMN chain_seq, DROP COLUMN prev_hash, DROP COLUMN row_hash"
    )
