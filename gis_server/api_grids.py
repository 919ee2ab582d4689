"""`/api/grids/...`: the district topology report, layout diffs, version history, restore.

Reads follow the OGC read policy (the middleware), except the topology report,
which costs seconds and so needs a signed-in user (viewer) and is kept per grids
version; restore is a grid edit and needs gis_editor (a scoped key: one listing grids), runs through `grid_edits.apply` (rules, history, re-assignment)
and is audited in its own transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from psycopg import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gis_server import editing, json_body
from gis_server.api_grids_docs import CHECK, DIFF, HISTORY, RESTORE
from gis_server.auth import Role
from gis_server.auth.collection_policy import authorise
from gis_server.database import pooled
from gis_server.errors import InvalidParameter, NotFound
from gis_server.routing import api_route
from gis_server.settings import Settings
from layers import grid_edits, grid_history, topology, vocab
from layers.registry import GRIDS


def parse_instant(name: str, value: str | None) -> dt.datetime:
    """An ISO 8601 instant (returned in UTC); a date or a naive time is read in Asia/Shanghai."""
    if not value:
        raise InvalidParameter(name, "必填 — required (ISO 8601 date-time)")
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(
            name, "应为 ISO 8601 时间 — expected an ISO 8601 date-time"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone(dt.timedelta(hours=8)))
    try:  # in UTC: PostgreSQL takes offsets up to ±15:59 only, Python up to ±23:59
        return parsed.astimezone(dt.UTC)
    except OverflowError:
        raise InvalidParameter(name, "超出范围 — out of range") from None


def grid_type_param(value: str | None) -> str | None:
    if value is not None and value not in vocab.GRID_TYPES:
        raise InvalidParameter("type", f"应为 {'|'.join(vocab.GRID_TYPES)} — unknown grid type")
    return value


def check_report(
    conn: Connection, grid_type: str | None, tol: topology.Tolerance
) -> dict[str, Any]:
    """The topology report as JSON (also what `onemap grids check --json` prints)."""
    started = time.perf_counter()
    with conn.cursor() as cur:
        violations = topology.check_all(cur, grid_type, tol)
    return {
        "grid_type": grid_type,
        "tolerance": {
            "area_m2": tol.area_m2,
            "snap_m": tol.snap_m,
            "sliver_width_m": tol.sliver_width_m,
        },
        "ok": not violations,
        "counts": topology.summary(violations),
        "violations": [v.as_dict() for v in violations],
        "elapsed_ms": round((time.perf_counter() - started) * 1000),
    }


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return value


def _grids_version(conn: Connection) -> int | None:
    """The grids table's change counter (layer_changes): a kept report is current while it
    stays the same (every committed write to grids moves it)."""
    with conn.cursor() as cur:
        cur.execute("SELECT version FROM layer_changes WHERE layer = 'grids'")
        row = cur.fetchone()
    return row[0] if row else None


class GridApi:
    """The /api/grids handlers; one instance per app, holding its settings."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._check_lock = asyncio.Lock()
        self._checks: dict[str | None, tuple[int, dict[str, Any]]] = {}  # type → (version, report)

    def _read(self, work: Callable[[Connection], Any]) -> Any:
        db = self.settings.database
        with pooled(db.dsn, db.pool_size) as conn:
            return work(conn)

    async def check(self, request: Request) -> Response:
        """The topology report: seconds of PostGIS work over the whole district, so it takes
        a signed-in user (viewer) and is kept per grid type for the grids' change counter;
        one check runs at a time per process, and those waiting get the kept report."""
        await authorise(request, Role.VIEWER, (GRIDS.id,))
        gtype = grid_type_param(request.query_params.get("type"))
        tol = editing.tolerance(self.settings)
        async with self._check_lock:
            version = await run_in_threadpool(self._read, _grids_version)
            kept = self._checks.get(gtype)
            if kept is not None and version is not None and kept[0] == version:
                return JSONResponse(kept[1])
            report = await run_in_threadpool(
                self._read, lambda conn: check_report(conn, gtype, tol)
            )
            if version is not None:
                self._checks[gtype] = (version, report)
        return JSONResponse(report)

    async def diff(self, request: Request) -> Response:
        await authorise(request, None, (GRIDS.id,))
        q = request.query_params
        t_from, t_to = parse_instant("from", q.get("from")), parse_instant("to", q.get("to"))
        gtype = grid_type_param(q.get("type"))

        def work(conn: Connection) -> dict[str, Any]:
            with conn.cursor() as cur:
                return grid_history.diff(cur, t_from, t_to, gtype)

        out = await run_in_threadpool(self._read, work)
        return JSONResponse({"from": t_from.isoformat(), "to": t_to.isoformat(), **out})

    async def history(self, request: Request) -> Response:
        await authorise(request, None, (GRIDS.id,))
        code = request.path_params["code"]

        def work(conn: Connection) -> list[dict[str, Any]]:
            with conn.cursor() as cur:
                return grid_history.history(cur, code)

        versions = await run_in_threadpool(self._read, work)
        if not versions:
            raise NotFound(f"没有该网格 — no grid {code!r}")
        return JSONResponse({"code": code, "versions": _json(versions)})

    async def restore(self, request: Request) -> Response:
        principal = await authorise(request, Role.GIS_EDITOR, (GRIDS.id,), writes=(GRIDS.id,))
        code = request.path_params["code"]
        body = await json_body.read_json(request)
        version = body.get("version") if isinstance(body, dict) else None
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise InvalidParameter("version", "应为正整数 — must be a positive integer")
        tags = editing.if_match(request, "grids-restore", self.settings)
        expected = editing.expected_version(tags)
        tol = editing.tolerance(self.settings)

        def work(conn: Connection) -> dict[str, Any]:
            with conn.cursor() as cur:
                result = grid_edits.restore(cur, code, version, expected=expected, tolerance=tol)
            editing.audit_grid_edit(conn, principal, "restore", result, request)
            return result.outputs()

        outputs = await editing.run_edit_async(self.settings, work)
        opened = next(o for o in outputs["opened"] if o["code"] == code)
        return JSONResponse(outputs, headers={"ETag": editing.grid_etag(opened["version"])})


def grid_api_routes(settings: Settings) -> list[Route]:
    api = GridApi(settings)
    return [
        api_route("/api/grids/check", api.check, doc=CHECK),
        api_route("/api/grids/diff", api.diff, doc=DIFF),
        api_route("/api/grids/{code}/history", api.history, doc=HISTORY),
        api_route("/api/grids/{code}/restore", api.restore, methods=["POST"], doc=RESTORE),
    ]
