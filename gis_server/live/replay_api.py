"""`GET /api/replay?from=…&to=…`: the fleet replay's data (全局回放) — every vehicle's fixes
in the window (at most `max_fixes`, thinned per vehicle beyond that) and the events
created in it (`layers/replay.py`). Times without an offset are Asia/Shanghai, like
the console's clock. Positions and events are what the console already shows; no
reporter data is read. Each part follows its layers' read policy (`REPLAY_LAYERS`):
a caller who may not read them gets it empty."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from etl.feed.fix import SHANGHAI
from gis_server.auth.collection_policy import authorise, policy_of
from gis_server.database import pooled
from gis_server.errors import DatabaseUnavailable, InvalidParameter
from gis_server.routing import Body, Param, RouteDoc, api_route
from layers.replay import fleet_replay

MAX_WINDOW = dt.timedelta(hours=24)
MAX_FIXES = 200_000
DEFAULT_FIXES = 100_000
MAX_EVENTS = 5_000
# each part of the answer and the layers it reads (historic fixes: vehicle_positions)
REPLAY_LAYERS = {"vehicles": ("vehicles", "vehicle_positions"), "events": ("events",)}


def _time(request: Request, name: str) -> dt.datetime:
    raw = request.query_params.get(name)
    if raw is None or not raw.strip():
        raise InvalidParameter(name, "required: an ISO 8601 time, e.g. 2026-12-03T14:00")
    try:
        t = dt.datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidParameter(name, f"not an ISO 8601 time: {raw[:40]!r}") from None
    return t.replace(tzinfo=SHANGHAI) if t.tzinfo is None else t


def _max_fixes(request: Request) -> int:
    raw = request.query_params.get("max_fixes")
    if raw is None:
        return DEFAULT_FIXES
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_FIXES:
        raise InvalidParameter("max_fixes", f"must be an integer from 1 to {MAX_FIXES}")
    return int(raw)


def parse(request: Request) -> tuple[dt.datetime, dt.datetime, int]:
    unknown = set(request.query_params) - {"from", "to", "max_fixes"}
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], "unknown parameter (from, to, max_fixes)")
    start, end = _time(request, "from"), _time(request, "to")
    if end <= start:
        raise InvalidParameter("to", "must be after from")
    if end - start > MAX_WINDOW:
        raise InvalidParameter("to", "the window is at most 24 hours")
    return start, end, _max_fixes(request)


def read(
    dsn: str,
    pool_size: int,
    start,
    end,
    max_fixes: int,
    parts: frozenset[str] = frozenset(REPLAY_LAYERS),
) -> dict[str, Any]:
    """The replay; of `parts` ("vehicles", "events") the others are left empty."""
    try:
        with pooled(dsn, pool_size, read=True) as conn:
            with conn.cursor() as cur:
                replay = fleet_replay(cur, start, end, max_fixes, MAX_EVENTS)
            conn.rollback()
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"数据库不可用 — database unavailable: {exc}") from exc
    fleet = "vehicles" in parts
    return {
        "from": start.isoformat(),
        "to": end.isoformat(),
        "total_fixes": replay.total_fixes if fleet else 0,
        "returned_fixes": replay.returned_fixes if fleet else 0,
        "stride": replay.stride if fleet else 1,
        "vehicles": replay.vehicles if fleet else {},
        "events": replay.events if "events" in parts else [],
    }


async def replay(request: Request) -> JSONResponse:
    start, end, max_fixes = parse(request)
    principal = await authorise(request, None)
    policy = policy_of(request)
    parts = frozenset(
        part for part, ids in REPLAY_LAYERS.items() if policy.readable(principal, ids) == set(ids)
    )
    db = request.app.state.settings.database
    body = await run_in_threadpool(read, db.dsn, db.pool_size, start, end, max_fixes, parts)
    return JSONResponse(body)


_NUM = {"type": ["number", "null"]}
_SCHEMA = {
    "type": "object",
    "required": ["from", "to", "total_fixes", "returned_fixes", "stride", "vehicles", "events"],
    "properties": {
        "from": {"type": "string", "format": "date-time"},
        "to": {"type": "string", "format": "date-time"},
        "total_fixes": {"type": "integer", "description": "fixes in the window"},
        "returned_fixes": {"type": "integer"},
        "stride": {"type": "integer", "description": "every k-th fix of each vehicle"},
        "vehicles": {
            "type": "object",
            "description": "by vehicle code",
            "additionalProperties": {
                "type": "object",
                "properties": {
                    "plate": {"type": ["string", "null"]},
                    "kind": {"type": ["string", "null"]},
                    "fixes": {
                        "type": "array",
                        "description": "[epoch_s, lon, lat, heading, speed_kmh], in time order",
                        "items": {"type": "array", "items": _NUM},
                    },
                },
            },
        },
        "events": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "code": {"type": "string"},
                    "title": {"type": "string"},
                    "category": {"type": "string"},
                    "priority": {"type": "string"},
                    "status": {"type": "string"},
                    "t": {"type": "number", "description": "created_at, epoch s"},
                    "lon": {"type": "number"},
                    "lat": {"type": "number"},
                },
            },
        },
    },
}
_TIME = {"type": "string", "format": "date-time"}


def replay_routes() -> list:
    return [
        api_route(
            "/api/replay",
            replay,
            doc=RouteDoc(
                summary="Fleet replay: all vehicles' fixes and the events created in a window",
                tags=("live",),
                params=(
                    Param(
                        "from",
                        schema=_TIME,
                        required=True,
                        description="start (naive: Asia/Shanghai)",
                    ),
                    Param(
                        "to",
                        schema=_TIME,
                        required=True,
                        description="end, exclusive; ≤ 24 h after from",
                    ),
                    Param(
                        "max_fixes",
                        schema={"type": "integer", "minimum": 1, "maximum": MAX_FIXES},
                        description=f"at most this many fixes (default {DEFAULT_FIXES})",
                    ),
                ),
                responses={200: Body("the window's fixes by vehicle and its events", _SCHEMA)},
            ),
        )
    ]
