"""`GET /api/live/geofences`: the open geofence episodes, what the big screen draws
first; the `geofence` frames of /api/live keep it current (opened → read again, closed
→ removed). Each episode with its rule in Chinese, the vehicle (plate, kind, where it
is now), the zone's name and since when. About vehicles, so the `vehicles` layer's read
policy decides: a caller who may not read it gets an empty list. No personal data."""

from __future__ import annotations

import re
from typing import Any

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from gis_server.auth.collection_policy import authorise, policy_of
from gis_server.database import pooled
from gis_server.errors import DatabaseUnavailable, InvalidParameter
from gis_server.routing import Body, Param, RouteDoc, api_route

MAX_LIMIT = 1000
DEFAULT_LIMIT = 200
# the rules of layers/geofences.py (left_route: a route corridor rule, not yet judged)
RULE_LABELS = {
    "forbidden_zone": "闯入禁区",
    "left_route": "偏离路线",
    "left_patrol_zone": "离开巡河区",
    "fishing_ban_night": "夜间禁捕区",
}

_OPEN = """
SELECT a.id, a.rule, a.vehicle_code, v.plate, v.kind, a.zone_code,
       coalesce(fz.name, rz.name), extract(epoch FROM a.started_at)::float8,
       extract(epoch FROM a.last_seen_at)::float8, a.fix_count,
       ST_X(coalesce(v.geom, a.geom)), ST_Y(coalesce(v.geom, a.geom)),
       ST_X(a.geom), ST_Y(a.geom)
FROM geofence_alerts a
LEFT JOIN vehicles v ON v.code = a.vehicle_code
LEFT JOIN forbidden_zones fz ON a.rule = 'forbidden_zone' AND fz.code = a.zone_code
LEFT JOIN river_patrol_zones rz ON a.rule <> 'forbidden_zone' AND rz.code = a.zone_code
WHERE a.ended_at IS NULL
ORDER BY a.started_at DESC, a.id DESC
LIMIT %(limit)s
"""

_FIELDS = (
    "id", "rule", "vehicle", "plate", "kind", "zone", "zone_name", "started", "last_seen",
    "fixes", "lon", "lat", "start_lon", "start_lat",
)  # fmt: skip


def _limit(request: Request) -> int:
    unknown = set(request.query_params) - {"limit"}
    if unknown:
        raise InvalidParameter(sorted(unknown)[0], "unknown parameter (limit)")
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidParameter("limit", f"must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


def read_open(dsn: str, pool_size: int, limit: int) -> list[dict[str, Any]]:
    try:
        with pooled(dsn, pool_size, read=True) as conn:
            with conn.cursor() as cur:
                cur.execute(_OPEN, {"limit": limit})
                rows = cur.fetchall()
            conn.rollback()
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"数据库不可用 — database unavailable: {exc}") from exc
    out = []
    for row in rows:
        alert = dict(zip(_FIELDS, row, strict=True))
        alert["label"] = RULE_LABELS.get(alert["rule"], alert["rule"])
        out.append(alert)
    return out


async def open_geofences(request: Request) -> JSONResponse:
    limit = _limit(request)
    principal = await authorise(request, None)
    if "vehicles" not in policy_of(request).readable(principal, ["vehicles"]):
        return JSONResponse({"alerts": [], "labels": RULE_LABELS})
    db = request.app.state.settings.database
    alerts = await run_in_threadpool(read_open, db.dsn, db.pool_size, limit)
    return JSONResponse({"alerts": alerts, "labels": RULE_LABELS})


_NUM = {"type": ["number", "null"]}
_STR = {"type": ["string", "null"]}
_SCHEMA = {
    "type": "object",
    "required": ["alerts", "labels"],
    "properties": {
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "alerts": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "id": {"type": "integer"},
                    "rule": {"type": "string", "enum": sorted(RULE_LABELS)},
                    "label": {"type": "string", "description": "the rule in Chinese"},
                    "vehicle": {"type": "string"},
                    "plate": _STR,
                    "kind": _STR,
                    "zone": {"type": "string", "description": "zone code, '' for none"},
                    "zone_name": _STR,
                    "started": {"type": "number", "description": "epoch s"},
                    "last_seen": {"type": "number", "description": "epoch s"},
                    "fixes": {"type": "integer"},
                    "lon": _NUM,
                    "lat": _NUM,
                    "start_lon": _NUM,
                    "start_lat": _NUM,
                },
            },
        },
    },
}


def geofence_routes() -> list:
    return [
        api_route(
            "/api/live/geofences",
            open_geofences,
            doc=RouteDoc(
                summary="Open geofence episodes (闯入禁区, 离开巡河区, 夜间禁捕区), newest first",
                tags=("live",),
                params=(
                    Param(
                        "limit",
                        schema={"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                        description=f"at most this many (default {DEFAULT_LIMIT})",
                    ),
                ),
                responses={200: Body("the open episodes; lon/lat: the vehicle now", _SCHEMA)},
            ),
        )
    ]
