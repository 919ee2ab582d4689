"""/healthz: is the database reachable and is its schema at the newest migration?"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gis_server.database import pooled
from gis_server.errors import DatabaseUnavailable
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


def check(settings: Settings) -> tuple[int, dict[str, Any]]:
    """(200 or 503, body); the body says which part failed."""
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
        status, body = await run_in_threadpool(check, settings)
        headers = {"Cache-Control": "no-store"}
        if status == 503:
            headers["Retry-After"] = str(DatabaseUnavailable.RETRY_AFTER_S)
        return JSONResponse(body, status_code=status, headers=headers)

    return api_route("/healthz", healthz, methods=["GET", "HEAD"], doc=HEALTH)
