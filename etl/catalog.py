"""Column facts read from the database itself, so imports follow the schema as migrated."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg2.extensions import connection


@dataclass(frozen=True)
class Column:
    name: str
    sql_type: str  # format_type(): text, integer, double precision, date, timestamp with time zone
    not_null: bool
    default: str | None  # SQL expression of the column default, None if none

    @property
    def required(self) -> bool:
        return self.not_null and self.default is None


def table_columns(conn: connection, table: str) -> dict[str, Column]:
    """Columns of public.`table`, in order (identity columns excluded)."""
    with conn.cursor() as cur:
        cur.execute(
            """
            SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                   pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE a.attrelid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
              AND a.attidentity = ''
            ORDER BY a.attnum
            """,
            (f"public.{table}",),
        )
        return {r[0]: Column(r[0], r[1], r[2], r[3]) for r in cur.fetchall()}
