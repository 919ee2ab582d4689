"""Plumbing shared by every write route: one transaction per request, domain errors
mapped to onemap's HTTP errors, grid edits audited row by row, ETags and If-Match.

Part 4 writes (ogc/writes.py), the grid processes (ogc/processes.py) and the grid
API (api_grids.py) all run their work through `run_edit`, so each write commits
together with its audit rows or not at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import psycopg
import psycopg.errors
from psycopg import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from gis_server.auth import Principal, audit, client_ip
from gis_server.database import pooled
from gis_server.errors import (
    Conflict,
    InvalidFeature,
    InvalidParameter,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from gis_server.settings import Settings
from layers import grid_edits, topology
from layers.registry import BY_ID, GRIDS


def tolerance(settings: Settings) -> topology.Tolerance:
    e = settings.editing
    return topology.Tolerance(area_m2=e.area_m2, snap_m=e.snap_m, sliver_width_m=e.sliver_width_m)


def topology_conflict(exc: topology.TopologyError) -> Conflict:
    return Conflict(str(exc), violations=[v.as_dict() for v in exc.violations])


def _translate(exc: Exception) -> Exception:
    """A domain or database error as the onemap error a client should see."""
    if isinstance(exc, topology.TopologyError):
        return topology_conflict(exc)
    if isinstance(exc, grid_edits.StaleVersion):
        return PreconditionFailed(
            str(exc), feature=exc.code, expected_version=exc.expected, current_version=exc.current
        )
    if isinstance(exc, grid_edits.GridNotFound):
        return NotFound(str(exc))
    if isinstance(exc, grid_edits.UnknownTown):
        return InvalidFeature("town_code", f"未知镇街 — unknown town {exc.town_code!r}")
    if isinstance(exc, grid_edits.GridConflict):
        return Conflict(str(exc))
    if isinstance(exc, psycopg.errors.NotNullViolation):
        col = exc.diag.column_name or "?"
        return InvalidFeature(col, "必填属性为空 — required property is missing or null")
    if isinstance(exc, psycopg.errors.CheckViolation | psycopg.errors.InvalidTextRepresentation):
        name = exc.diag.constraint_name or "properties"
        return InvalidFeature(name, f"取值不允许 — value not allowed ({exc.diag.message_primary})")
    if isinstance(exc, psycopg.errors.UniqueViolation):
        return Conflict(f"编码已存在 — code already exists ({exc.diag.message_detail})")
    if isinstance(exc, psycopg.errors.InternalError_ | psycopg.errors.InvalidParameterValue):
        return InvalidFeature(
            "geometry", f"几何无效 — invalid geometry: {exc.diag.message_primary}"
        )
    if isinstance(exc, psycopg.DataError):  # a config table's own limits (varchar(n), numeric)
        name = exc.diag.column_name or "properties"
        return InvalidFeature(name, f"取值不允许 — value not allowed ({exc.diag.message_primary})")
    return exc


def run_edit[T](settings: Settings, work: Callable[[Connection], T], *, dry_run: bool = False) -> T:
    """Run `work(conn)` in one transaction and commit; errors roll back and are translated.

    With `dry_run` the transaction is rolled back even on success: the caller gets
    what the edit would do (or the same 409/412/422 it would raise), nothing is
    written, no audit row is kept and no change counter moves.
    """
    db = settings.database
    with pooled(db.dsn, db.pool_size) as conn:
        try:
            out = work(conn)
            if dry_run:
                conn.rollback()
            else:
                conn.commit()
            return out
        except (
            topology.TopologyError,
            grid_edits.StaleVersion,
            grid_edits.GridNotFound,
            grid_edits.GridConflict,
            grid_edits.UnknownTown,
            psycopg.IntegrityError,
            psycopg.DataError,
            psycopg.errors.InternalError_,
        ) as exc:
            conn.rollback()
            raise _translate(exc) from None


async def run_edit_async[T](
    settings: Settings, work: Callable[[Connection], T], *, dry_run: bool = False
) -> T:
    return await run_in_threadpool(lambda: run_edit(settings, work, dry_run=dry_run))


def dry_run_param(request: Request) -> bool:
    """`?dry_run=true|false` (absent: false); anything else is a 400 naming the parameter."""
    raw = request.query_params.get("dry_run")
    if raw is None:
        return False
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise InvalidParameter("dry_run", "应为 true 或 false — must be true or false")


def audit_grid_edit(
    conn: Connection,
    principal: Principal,
    action: str,
    result: grid_edits.EditResult,
    request: Request,
) -> None:
    """One audit row per grid the edit changed, with its before and after feature."""
    for code in sorted(set(result.before) | set(result.after)):
        audit.record(
            conn,
            principal,
            action,
            GRIDS.id,
            code,
            result.before.get(code),
            result.after.get(code),
            client_ip=client_ip(request),
        )


# -- ETag / If-Match -------------------------------------------------------------

_TAG = re.compile(r'\s*(?:W/)?"([^"]*)"\s*')


def etag(value: str) -> str:
    return f'"{value}"'


def grid_etag(version: int) -> str:
    return etag(f"v{version}")


def if_match(request: Request, layer_id: str, settings: Settings) -> list[str] | None:
    """The tags of If-Match (None: header absent or `*`); 428 where it is required: by
    the layer's spec (`LayerSpec.if_match_required`) or by `editing.require_if_match`."""
    raw = request.headers.get("if-match")
    if raw is None:
        layer = BY_ID.get(layer_id)
        required = layer is not None and layer.if_match_required
        if required or layer_id in settings.editing.require_if_match:
            raise PreconditionRequired(
                "If-Match: 编辑前须先读取要素并回传其 ETag — send the feature's ETag in If-Match"
            )
        return None
    if raw.strip() == "*":
        return None
    tags = [m.group(1) for part in raw.split(",") if (m := _TAG.fullmatch(part))]
    if not tags:
        raise InvalidParameter("If-Match", 'ETag 格式错误 — expected a quoted ETag such as "v3"')
    return tags


def expected_version(tags: list[str] | None) -> int | None:
    """The grid version an If-Match names ("v3" → 3)."""
    if tags is None:
        return None
    for tag in tags:
        if re.fullmatch(r"v\d+", tag):
            return int(tag[1:])
    return 0  # no version tag: matches no version, so the edit is refused with 412
