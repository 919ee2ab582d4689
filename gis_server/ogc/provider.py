"""onemap's pygeoapi feature provider: psycopg 3 + SQL builders, GeoJSON made in PostGIS.

pygeoapi instantiates a provider per request (`load_plugin`), so __init__ only
reads the provider definition; the Source (what the table is) and the
Database handle come in `data`, built once by pygeoapi_config.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import psycopg
import psycopg.errors
from pygeoapi.provider.base import (
    BaseProvider,
    ProviderConnectionError,
    ProviderInvalidQueryError,
    ProviderItemNotFoundError,
    ProviderQueryError,
)

from gis_server.database import pooled
from gis_server.ogc.context import current_query
from gis_server.ogc.query import FeatureByIdQuery, ItemsQuery
from gis_server.ogc.source import Source
from gis_server.ogc.sql import Binds, count_sql, features_sql, item_sql, query_binds

LOGGER = logging.getLogger(__name__)

COUNT_TIMEOUT_MS = 500  # numberMatched is given only when an exact count is this cheap


@dataclass(frozen=True)
class Database:
    """Where the provider gets connections; repr hides the DSN (it may hold a password)."""

    dsn: str
    pool_size: int = 8

    def __repr__(self) -> str:
        return "Database(<dsn>)"


class ProviderUnavailableError(ProviderConnectionError):
    http_status_code = 503
    ogc_exception_code = "ServiceUnavailable"
    default_msg = "database unavailable"


class OnemapProvider(BaseProvider):
    """Features of one onemap Source."""

    def __init__(self, provider_def: dict[str, Any]):
        super().__init__(provider_def)
        self.source: Source = provider_def["data"]["source"]
        self.database: Database = provider_def["data"]["database"]
        self.id_field = self.source.id_column
        self.time_field = self.source.time_start
        self.properties = list(self.source.names)
        self._fields = self.get_fields()

    def get_fields(self) -> dict[str, dict[str, Any]]:
        fields: dict[str, dict[str, Any]] = {}
        for c in self.source.columns:
            field: dict[str, Any] = {"type": c.type}
            if c.format:
                field["format"] = c.format
            if c.title:
                field["title"] = c.title
            if c.enum:
                field["enum"] = list(c.enum)
            fields[c.name] = field
        return fields

    # -- queries ----------------------------------------------------------
    def query(self, **kw: Any) -> dict[str, Any]:
        """An items page; the request comes parsed from the front check, not from `kw`.

        pygeoapi's own arguments are its parse of the same (already normalised)
        parameters; onemap reads the ItemsQuery the dispatcher set instead.
        """
        q = current_query.get()
        if not isinstance(q, ItemsQuery):
            raise RuntimeError("provider.query called without the request's ItemsQuery")
        binds = query_binds(q)
        with self._cursor() as cur:
            features: list[Any] = []
            if not q.hits:
                features = self._fetch_features(cur, features_sql(self.source, q, binds), binds)
            matched = self._matched(cur, q, binds, len(features), exact=q.hits)
        result: dict[str, Any] = {
            "type": "FeatureCollection",
            "features": features,
            "numberReturned": len(features),
        }
        if matched is not None:
            result["numberMatched"] = matched
        return result

    def _fetch_features(self, cur: Any, statement: Any, binds: Binds) -> list[Any]:
        cur.execute(statement, binds.values)
        rows = cur.fetchall()
        return json.loads("[" + ",".join(r[0] for r in rows) + "]") if rows else []

    def _matched(
        self, cur: Any, q: ItemsQuery, binds: Binds, returned: int, exact: bool
    ) -> int | None:
        """Free when the page is short; otherwise an exact count if it finishes quickly."""
        if not exact and 0 < returned < q.limit:
            return q.offset + returned
        if not exact and returned == 0 and q.offset == 0:
            return 0
        cur.execute("SAVEPOINT onemap_count")
        try:
            if not exact:
                cur.execute(f"SET LOCAL statement_timeout = {COUNT_TIMEOUT_MS}")
            cur.execute(count_sql(self.source, q, binds), binds.values)
            return int(cur.fetchone()[0])
        except psycopg.errors.QueryCanceled:
            cur.execute("ROLLBACK TO SAVEPOINT onemap_count")
            return None

    def get(self, identifier: Any, **kw: Any) -> dict[str, Any]:
        src = self.source
        key: object = identifier
        if "\x00" in str(identifier):
            raise ProviderItemNotFoundError(
                user_msg=f"feature {identifier!r} not found in {src.id!r}"
            )
        if src.id_type == "integer":
            try:
                key = int(str(identifier))
            except ValueError:
                raise ProviderItemNotFoundError(
                    user_msg=f"feature {identifier!r} not found in {src.id!r} (ids are integers)"
                ) from None
        q = current_query.get()
        if not isinstance(q, FeatureByIdQuery):
            raise RuntimeError("provider.get called without the request's FeatureByIdQuery")
        binds = Binds()
        statement = item_sql(src, key, q.crs, binds, district=q.district)  # current version
        with self._cursor() as cur:
            cur.execute(statement, binds.values)
            row = cur.fetchone()
        if row is None:
            raise ProviderItemNotFoundError(
                user_msg=f"feature {identifier!r} not found in {src.id!r}"
            )
        return json.loads(row[0])

    # -- database ---------------------------------------------------------
    def _cursor(self) -> _Cursor:
        return _Cursor(self.database, self.source.id)

    def __repr__(self) -> str:
        return f"<OnemapProvider {self.source.id}>"


class _Cursor:
    """A pooled cursor that turns database failures into pygeoapi's typed provider errors."""

    def __init__(self, database: Database, collection: str):
        self.database = database
        self.collection = collection

    def __enter__(self) -> Any:
        try:
            self._ctx = pooled(self.database.dsn, self.database.pool_size, read=True)
            self._conn = self._ctx.__enter__()
        except psycopg.OperationalError as exc:
            LOGGER.error("database unavailable: %s", exc)
            raise ProviderUnavailableError(user_msg="database unavailable, retry later") from None
        self._cur = self._conn.cursor()
        return self._cur

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        self._cur.close()
        try:
            self._ctx.__exit__(exc_type, exc, tb)
        except psycopg.Error:
            if exc is None:
                raise ProviderUnavailableError(
                    user_msg="database unavailable, retry later"
                ) from None
        if exc is None:
            return False
        if isinstance(exc, ValueError):  # e.g. NUL characters, which PostgreSQL text cannot hold
            raise ProviderInvalidQueryError(user_msg=f"invalid value: {exc}") from None
        if isinstance(exc, psycopg.errors.QueryCanceled):
            raise ProviderQueryError(user_msg="query took too long") from None
        if isinstance(exc, psycopg.DataError):
            detail = str(exc).strip().splitlines()[0]
            raise ProviderInvalidQueryError(user_msg=f"invalid value: {detail}") from None
        if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
            raise ProviderUnavailableError(user_msg="database unavailable, retry later") from None
        if isinstance(exc, psycopg.Error):
            LOGGER.error("query on %s failed: %s", self.collection, exc)
            raise ProviderQueryError(user_msg=f"query on {self.collection!r} failed") from None
        return False
