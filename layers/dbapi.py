"""The slice of DB-API that layers' rules use, so one rule runs on either driver:
psycopg2 (ETL, COPY, GeoPandas) and psycopg 3 (the server's request paths).

Rules write plain SQL text with `%(name)s` / `%s` placeholders, one statement per
execute, JSON sent as `json.dumps(x)` with a `::jsonb` cast, rows read by position.
"""

from __future__ import annotations

from typing import Any, Protocol


class Cursor(Protocol):
    description: Any
    rowcount: int

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class Connection(Protocol):
    def cursor(self) -> Any: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...


def quote_ident(name: str) -> str:
    """One identifier, double-quoted (for fixed or staged table names, never user text)."""
    return '"' + name.replace('"', '""') + '"'
