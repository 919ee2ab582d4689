"""API keys scoped: a key may carry a role below its user's and a list of collections.

Revision ID: 0012
Revises: 0011
"""

from pathlib import Path

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0012_scoped_keys.sql"


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    op.execute(
        "ALTER TABLE api_keys DROP CONSTRAINT api_keys_role_known, "
        "DROP COLUMN collections, DROP COLUMN role"
    )
