"""What every dispatch route shares: the database call, the actor, the domain's refusals as HTTP."""

from __future__ import annotations

import datetime as dt
import decimal
import json
from collections.abc import Callable
from typing import Any

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from gis_server.auth import Principal
from gis_server.database import pooled
from gis_server.errors import (
    Forbidden,
    InvalidParameter,
    InvalidTransition,
    NotFound,
    OnemapError,
    PreconditionFailed,
)
from gis_server.settings import Settings
from layers.dispatch import errors as domain
from layers.dispatch.rules import Policy
from layers.dispatch.scope import actor_for
from layers.dispatch.timeline import Actor


def policy(settings: Settings) -> Policy:
    d = settings.dispatch
    return Policy(d.snap_distance_m, d.urgent_hours, d.critical_hours, d.manual_hours)


def as_http(exc: domain.DispatchError) -> OnemapError:
    """The domain's refusal as the one error model (409 / 403 / 412 / 404 / 400)."""
    if isinstance(exc, domain.TransitionRefused):
        return InvalidTransition(str(exc), exc.status, exc.allowed)
    if isinstance(exc, domain.VersionConflict):
        return PreconditionFailed(str(exc), current_version=exc.current)
    if isinstance(exc, domain.NotPermitted):
        return Forbidden(str(exc))
    if isinstance(exc, domain.UnknownEvent):
        return NotFound(str(exc))
    if isinstance(exc, domain.BadInput):
        return InvalidParameter(exc.field, str(exc).split(": ", 1)[-1])
    return OnemapError(str(exc))


def _in_transaction[T](
    settings: Settings, work: Callable[[Any], T], commit: bool, read: bool, each: bool, prep: bool
) -> T:
    db = settings.database
    with pooled(db.dsn, db.pool_size, read=read and not commit) as conn:
        if each:
            conn.autocommit = True
        try:
            with psycopg.Cursor(conn) if prep else conn.cursor() as cur:
                result = work(cur)
        except domain.DispatchError as exc:
            raise as_http(exc) from None
        finally:
            if each and not (conn.broken or conn.closed):
                conn.autocommit = False  # the pool's other users expect a transaction
        if commit and not each:
            conn.commit()
        return result


async def run[T](
    settings: Settings,
    work: Callable[[Any], T],
    *,
    commit: bool = False,
    read: bool = False,
    each_statement: bool = False,
    prepared: bool = False,
) -> T:
    """`work(cursor)` on a pooled connection in a thread; committed when `commit`;
    `read`: it only reads, so a GET may run it on a read replica (`gis_server.replicas`).
    `each_statement`: every statement commits by itself (autocommit) — for work whose
    reads need no common snapshot and whose write is one statement: no BEGIN and no
    COMMIT round trip, two of an intake's four.
    `prepared`: values bound by the server (not `ClientCursor`'s text), so a statement run
    on a connection again and again is prepared once and not planned on every call (psycopg's
    `prepare_threshold`); for a hot path whose SQL types every parameter it leaves open."""
    return await run_in_threadpool(
        _in_transaction, settings, work, commit, read, each_statement, prepared
    )


def actor(cur: Any, principal: Principal) -> Actor:
    return actor_for(cur, principal.user_id, principal.username, principal.role.label)


def _default(value: Any) -> Any:
    """What JSON lacks, as the API writes it: a time in ISO 8601, a numeric as a number."""
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """The body as Starlette's JSONResponse writes it (compact, UTF-8, no NaN); the C encoder
    calls `_default` for times and numerics alone, so no Python walk over every value first."""
    content = json.dumps(
        body, default=_default, ensure_ascii=False, allow_nan=False, separators=(",", ":")
    )
    return Response(content.encode("utf-8"), status, headers, media_type="application/json")


def settings_of(request: Request) -> Settings:
    return request.app.state.settings


def int_param(request: Request, name: str, default: int, lo: int, hi: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidParameter(name, "应为整数 — must be an integer") from None
    if not lo <= value <= hi:
        raise InvalidParameter(name, f"应在 {lo}–{hi} 之间 — must be between {lo} and {hi}")
    return value
