"""The daily statistics rollup by district: event_stats_daily.district_code, kept by the
same statement triggers, rebuilt from the events (helper D, issue 16).

Downgrade puts back 0013's functions (no district) and rebuilds the rollup without it.

Revision ID: 0016
Revises: 0015
"""

from pathlib import Path

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_SQL = Path(__file__).resolve().parents[1] / "sql" / "0016_district_stats.sql"


def _without_district(sql: str) -> str:
    """0016's functions and rebuild as 0013 had them: the same text less the district."""
    return (
        sql.replace(" district_code,\n", "\n")
        .replace("department_code, district_code,", "department_code,")
        .replace("department_code,\n        district_code,", "department_code,")
        .replace("GROUP BY 1, 2, 3, 4", "GROUP BY 1, 2, 3")
        .replace("ORDER BY 1, 2, 3, 4", "ORDER BY 1, 2, 3")
        .replace("department_code, district_code, '", "department_code, '")
        .replace("'district_code, auto_dispatched", "'auto_dispatched")
    )


def upgrade() -> None:
    op.execute(_SQL.read_text(encoding="utf-8"))


def downgrade() -> None:
    functions = _SQL.read_text(encoding="utf-8").split("CREATE OR REPLACE FUNCTION", 1)[1]
    op.execute(
        "DROP INDEX event_stats_daily_district;"
        "ALTER TABLE event_stats_daily DROP CONSTRAINT event_stats_daily_key;"
        "DELETE FROM event_stats_daily;"
        "ALTER TABLE event_stats_daily DROP COLUMN district_code;"
        "ALTER TABLE event_stats_daily ADD CONSTRAINT event_stats_daily_key "
        "UNIQUE NULLS NOT DISTINCT (day, town_code, department_code);"
    )
    op.execute(_without_district("CREATE OR REPLACE FUNCTION" + functions))
