"""/healthz: is the database reachable and is its schema at the newest migration?

With read replicas configured it also lists each one as the replica poller last saw it
(`replicas.ReplicaSet.describe`: server as host:port/db, up, lag, in use or skipped and
why). A replica's state never makes the process unhealthy: reads fall back to the
primary, which is what the balancer's check is about."""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gis_server.database import pooled
from gis_server.errors import DatabaseUnavailable
from gis_server.replicas import ReplicaSet
from gis_server.routing import Body, RouteDoc, api_route
from gis_server.settings import Settings
from layers.migrate import head_revision

LOGGER = logging.getLogger(__name__)


def current_revision(settings: Settings) -> str | None:
    """The schema's Alembic revision, read on the app's pool (a balancer polls this often)."""
    db = settings.database
    with pooled(db.dsn, db.pool_size) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('alembic_version') IS NOT NULL")
        if not cur.fetchone()[0]:
            return None
        cur.execute("SELECT version_num FROM alembic_version")
        row = cur.fetchone()
        return row[0] if row else None


def check(settings: Settings, replicas: ReplicaSet | None = None) -> tuple[int, dict[str, Any]]:
    """(200 or 503, body); the body says which part failed, and how the replicas are."""
    status, body = _primary(settings)
    if replicas is not None and replicas.replicas:
        body["replicas"] = replicas.describe()
    return status, body


def _primary(settings: Settings) -> tuple[int, dict[str, Any]]:
    head = head_revision()
    try:
        current = current_revision(settings)
    except Exception as exc:  # noqa: BLE001 - any failure to connect means "not healthy"
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        LOGGER.warning("healthz: database unreachable: %s", detail)
        return 503, {
            "code": DatabaseUnavailable.code,
            "description": "数据库不可用 — database unreachable, retry later",
            "status": "unavailable",
            "database": "unreachable",
            "migrations": {"current": None, "head": head},
        }
    ok = current == head
    stale = {} if ok else {"code": "SchemaOutdated", "description": "migrations not at head"}
    return (200 if ok else 503), {
        **stale,
        "status": "ok" if ok else "unavailable",
        "database": "reachable",
        "migrations": {"current": current, "head": head, "up_to_date": ok},
    }


_HEALTH_BODY = {
    "type": "object",
    "required": ["status", "database", "migrations"],
    "properties": {
        "status": {"type": "string", "enum": ["ok", "unavailable"]},
        "database": {"type": "string", "enum": ["reachable", "unreachable"]},
        "migrations": {"type": "object"},
        "replicas": {
            "type": "array",
            "description": "only with read replicas configured",
            "items": {
                "type": "object",
                "properties": {
                    "server": {"type": "string", "description": "host:port/database"},
                    "up": {"type": "boolean"},
                    "lag_s": {"type": ["number", "null"]},
                    "replay_lsn": {"type": "string"},
                    "state": {"type": "string", "enum": ["in_use", "skipped"]},
                    "reason": {
                        "type": "string",
                        "enum": ["not polled yet", "promoted", "down", "lagging"],
                    },
                },
            },
        },
    },
}
HEALTH = RouteDoc(
    "健康检查 database reachable and migrations at head",
    tags=("health",),
    responses={
        200: Body("healthy", _HEALTH_BODY, headers=("Cache-Control",)),
        503: Body(
            "database unreachable or schema not at head (which part, in the body)",
            _HEALTH_BODY,
            headers=("Cache-Control",),
        ),
    },
)


def health_route(settings: Settings) -> Route:
    async def healthz(request: Request) -> JSONResponse:
        replica_set = getattr(request.app.state, "replicas", None)
        status, body = await run_in_threadpool(check, settings, replica_set)
        headers = {"Cache-Control": "no-store"}
        if status == 503:
            headers["Retry-After"] = str(DatabaseUnavailable.RETRY_AFTER_S)
        return JSONResponse(body, status_code=status, headers=headers)

    return api_route("/healthz", healthz, methods=["GET", "HEAD"], doc=HEALTH)
