"""`/api/duty…`: grid workers go on and off duty (上岗/下岗) from the phone page and, while
on duty, report the phone's position; dispatchers read who is on duty where.

The rules are `layers/duty.py`'s (positions only inside an open duty period); here
only parsing, the role and the error model. A report outside the district's extent
is refused (400 naming `lon`/`lat`): a phone that far away is not a position to show.
"""

from __future__ import annotations

import math
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gis_server import json_body
from gis_server.auth import Role, require
from gis_server.dispatch import common
from gis_server.errors import InvalidParameter, OffDuty
from gis_server.routing import Body, RouteDoc, api_route
from layers import duty

_TIME = {"type": ["string", "null"], "format": "date-time"}
STATUS = {
    "type": "object",
    "required": ["on_duty"],
    "properties": {
        "on_duty": {"type": "boolean"},
        "started_at": _TIME,
        "ended_at": _TIME,
        "last_report": _TIME,
        "report_every_s": {"type": "integer"},
    },
}
POSITION = {
    "type": "object",
    "required": ["lon", "lat"],
    "properties": {
        "lon": {"type": "number", "minimum": -180, "maximum": 180},
        "lat": {"type": "number", "minimum": -90, "maximum": 90},
        "accuracy": {"type": ["number", "null"], "minimum": 0, "description": "metres"},
    },
}
REPORTED = {
    "type": "object",
    "properties": {
        "on_duty": {"type": "boolean"},
        "stored": {"type": "boolean"},
        "epoch": {"type": ["number", "null"]},
    },
}
WORKERS = {
    "type": "object",
    "properties": {
        "offline_after_s": {"type": "integer"},
        "workers": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "username": {"type": "string"},
                    "name": {"type": "string"},
                    "started_at": _TIME,
                    "lon": {"type": ["number", "null"]},
                    "lat": {"type": ["number", "null"]},
                    "accuracy_m": {"type": ["number", "null"]},
                    "epoch": {"type": ["number", "null"]},
                },
            },
        },
    },
}


def _number(body: dict[str, Any], name: str, lo: float, hi: float, required: bool) -> float | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidParameter(name, f"{name} 须为数字 — {name} must be a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidParameter(name, f"{name} 须为有限数 — {name} must be finite")
    if not lo <= value <= hi:
        raise InvalidParameter(name, f"{name} 应在 {lo}…{hi} — {name} must be in {lo}…{hi}")
    return float(value)


def _position(
    body: Any, extent: tuple[float, float, float, float]
) -> tuple[float, float, float | None]:
    if not isinstance(body, dict):
        raise InvalidParameter("body", "须为 JSON 对象 {lon, lat, accuracy} — send a JSON object")
    lon = _number(body, "lon", -180, 180, True)
    lat = _number(body, "lat", -90, 90, True)
    accuracy = _number(body, "accuracy", 0, 1e6, False)
    x0, y0, x1, y1 = extent
    if not x0 <= lon <= x1:  # type: ignore[operator]
        raise InvalidParameter("lon", f"位置不在辖区范围内 — outside the district ({x0}…{x1})")
    if not y0 <= lat <= y1:  # type: ignore[operator]
        raise InvalidParameter("lat", f"位置不在辖区范围内 — outside the district ({y0}…{y1})")
    return lon, lat, accuracy  # type: ignore[return-value]


async def _run(request: Request, work: Any, commit: bool = False) -> Any:
    try:
        return await common.run(common.settings_of(request), work, commit=commit)
    except duty.OffDuty as exc:
        raise OffDuty(str(exc)) from None


def _with_period(request: Request, body: dict[str, Any]) -> Response:
    body["report_every_s"] = common.settings_of(request).dispatch.duty.report_every_s
    return common.json_response(body)


async def my_duty(request: Request) -> Response:
    principal = await require(request, Role.GRID_WORKER)
    body = await _run(request, lambda cur: duty.status(cur, principal.user_id))
    return _with_period(request, body)


async def start_duty(request: Request) -> Response:
    principal = await require(request, Role.GRID_WORKER)
    keep = common.settings_of(request).dispatch.duty.keep_days
    body = await _run(request, lambda cur: duty.start(cur, principal.user_id, keep), True)
    return _with_period(request, body)


async def end_duty(request: Request) -> Response:
    principal = await require(request, Role.GRID_WORKER)
    body = await _run(request, lambda cur: duty.end(cur, principal.user_id), True)
    return _with_period(request, body)


async def report_position(request: Request) -> Response:
    principal = await require(request, Role.GRID_WORKER)
    settings = common.settings_of(request)
    lon, lat, accuracy = _position(await json_body.read_json(request), settings.district.extent)
    body = await _run(
        request, lambda cur: duty.report(cur, principal.user_id, lon, lat, accuracy), True
    )
    return common.json_response(body)


async def workers_on_duty(request: Request) -> Response:
    await require(request, Role.DISPATCHER)
    rows = await _run(request, duty.on_duty)
    offline = common.settings_of(request).dispatch.duty.offline_after_s
    return common.json_response({"offline_after_s": offline, "workers": rows})


def _doc(
    summary: str, role: Role, ok: Body, request: Body | None = None, off_duty: bool = False
) -> RouteDoc:
    responses = {200: ok}
    if off_duty:
        responses[409] = Body("not on duty (OffDuty): nothing was stored", {"type": "object"})
    return RouteDoc(
        summary=summary, role=role, tags=("duty",), request=request, responses=responses
    )


def duty_routes() -> list:
    status = Body("the caller's duty state", STATUS)
    return [
        api_route("/api/duty", my_duty, methods=("GET",),
                  doc=_doc("My duty state (上岗?) and how often to report", Role.GRID_WORKER, status)),
        api_route("/api/duty/start", start_duty, methods=("POST",),
                  doc=_doc("Go on duty (上岗); already on duty: unchanged", Role.GRID_WORKER, status)),
        api_route("/api/duty/end", end_duty, methods=("POST",),
                  doc=_doc("End duty (下岗); 409 when not on duty", Role.GRID_WORKER, status,
                           off_duty=True)),
        api_route("/api/duty/positions", report_position, methods=("POST",),
                  doc=_doc("Report the phone's position while on duty (409 off duty)",
                           Role.GRID_WORKER, Body("stored", REPORTED), Body("position", POSITION),
                           off_duty=True)),
        api_route("/api/duty/workers", workers_on_duty, methods=("GET",),
                  doc=_doc("Grid workers on duty and their latest positions", Role.DISPATCHER,
                           Body("workers on duty", WORKERS))),
    ]  # fmt: skip
