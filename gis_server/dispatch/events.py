"""`GET /api/events` (queues), `GET /api/events/{code}` (detail + timeline),
`POST /api/events/{code}/actions` (the lifecycle), `GET /api/events/{code}/nearby`,
`GET /api/dispatch/stats` (the loop's figures per town, department …).

Grid workers and handlers see and act on their own events (scope in
layers/dispatch); the reporter's contact is shown to dispatchers and admins only.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gis_server import json_body
from gis_server.auth import Principal, Role
from gis_server.auth.collection_policy import authorise, policy_of
from gis_server.dispatch import common
from gis_server.errors import InvalidParameter, NotFound
from layers import vocab
from layers.dispatch import lifecycle, nearby, queues, shares, stats
from layers.dispatch.rules import LOCAL

CONTACT_ROLES = (Role.DISPATCHER, Role.ADMIN)
NEARBY_LAYERS = frozenset({"cameras", "vehicles"})  # nearby: left empty if not readable
_IF_MATCH = re.compile(r'^\s*(?:W/)?"v(\d+)"\s*$')
FILTERS = {
    "status": vocab.EVENT_STATUSES,
    "source": vocab.EVENT_SOURCES,
    "category": None,
    "town_code": None,
    "department_code": None,
}


def filters(request: Request, page_max: int) -> queues.Filters:
    q = request.query_params
    queue = q.get("queue", "open")
    if queue not in queues.QUEUES:
        raise InvalidParameter("queue", f"应为 {'|'.join(queues.QUEUES)} — unknown queue")
    values: dict[str, Any] = {}
    for name, codes in FILTERS.items():
        value = q.get(name)
        if value is not None and codes is not None and value not in codes:
            raise InvalidParameter(name, f"应为 {'|'.join(codes)} — unknown value")
        values[name] = value
    limit = common.int_param(request, "limit", 50, 1, page_max)
    offset = common.int_param(request, "offset", 0, 0, 10_000_000)
    return queues.Filters(queue=queue, limit=limit, offset=offset, **values)


async def list_events(request: Request) -> Response:
    principal = await authorise(request, Role.GRID_WORKER, reads=("events",))
    settings = common.settings_of(request)
    f = filters(request, settings.dispatch.page_max)
    page = await common.run(
        settings, lambda cur: queues.list_events(cur, common.actor(cur, principal), f)
    )
    return common.json_response({"queue": f.queue, **page})


def _detail(cur: Any, principal: Principal, code: str) -> dict[str, Any]:
    actor = common.actor(cur, principal)
    event = queues.event(cur, code)
    if event is None or not queues.can_see(cur, actor, code):
        raise NotFound(f"没有该事件或无权查看 — no event {code!r} you may see")
    parts = shares.of_event(cur, code)
    still_open = [s["department_code"] for s in parts if s["done_at"] is None]
    out = {
        **event,
        "cohandlers": [s["department_code"] for s in parts],
        "shares": parts,
        "timeline": queues.history(cur, code),
        "allowed_actions": lifecycle.allowed_for(actor, event, still_open),
    }
    if principal.role in CONTACT_ROLES:
        out["reporter"] = queues.contact(cur, code)
    return out


async def detail(request: Request) -> Response:
    principal = await authorise(request, Role.GRID_WORKER, reads=("events",))
    code = request.path_params["code"]
    settings = common.settings_of(request)
    body = await common.run(settings, lambda cur: _detail(cur, principal, code))
    return common.json_response(body, headers={"ETag": f'"v{body["version"]}"'})


def _expected_version(request: Request, body: dict[str, Any]) -> int | None:
    value = body.get("expected_version")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise InvalidParameter("expected_version", "应为正整数 — must be a positive integer")
    if value is None and (tag := request.headers.get("if-match")):
        match = _IF_MATCH.match(tag)
        if not match:
            raise InvalidParameter("If-Match", 'should be "v<version>" (the ETag of the event)')
        value = int(match.group(1))
    return value


def action_request(request: Request, body: Any) -> lifecycle.Request:
    if not isinstance(body, dict):
        raise InvalidParameter("body", "应为 JSON 对象 — must be a JSON object")
    action = body.get("action")
    if action not in lifecycle.ACTIONS:
        raise InvalidParameter("action", f"应为 {'|'.join(lifecycle.ACTIONS)} — unknown action")
    for name in ("note", "department_code", "satisfaction"):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > 2000):
            raise InvalidParameter(name, "应为文本 — must be a string (≤ 2000)")
    return lifecycle.Request(
        action=action,
        note=body.get("note"),
        department_code=body.get("department_code"),
        expected_version=_expected_version(request, body),
        satisfaction=body.get("satisfaction"),
    )


async def act(request: Request) -> Response:
    principal = await authorise(request, Role.GRID_WORKER, ("events",), writes=("events",))
    code = request.path_params["code"]
    req = action_request(request, await json_body.read_json(request))
    settings = common.settings_of(request)

    def work(cur: Any) -> dict[str, Any]:
        actor = common.actor(cur, principal)
        event = lifecycle.act(cur, code, req, actor, common.policy(settings))
        allowed = lifecycle.allowed_for(actor, event, shares.open_departments(cur, code))
        return {**event, "allowed_actions": allowed}

    event = await common.run(settings, work, commit=True)
    return common.json_response(event, headers={"ETag": f'"v{event["version"]}"'})


async def nearby_resources(request: Request) -> Response:
    principal = await authorise(request, Role.GRID_WORKER, reads=("events",))
    hidden = NEARBY_LAYERS - policy_of(request).readable(principal, NEARBY_LAYERS)
    code = request.path_params["code"]
    limit = common.int_param(request, "limit", 5, 1, 50)
    settings = common.settings_of(request)

    def work(cur: Any) -> dict[str, Any]:
        if not queues.can_see(cur, common.actor(cur, principal), code):
            raise NotFound(f"没有该事件或无权查看 — no event {code!r} you may see")
        return nearby.around(
            cur,
            code,
            limit,
            with_phone=principal.can(Role.HANDLER),
            worker_offline_s=settings.dispatch.duty.offline_after_s,
        )

    found = await common.run(settings, work)
    return common.json_response({**found, **{layer: [] for layer in hidden}})


async def statistics(request: Request) -> Response:
    """`GET /api/dispatch/stats?by=town|department|category|grid|source&from=&to=` (dates)."""
    principal = await authorise(request, Role.DISPATCHER, reads=("events",))
    assert principal is not None  # a dispatcher's route: anonymous was refused
    q = request.query_params
    group = q.get("by", "town")
    if group not in stats.GROUPS:
        raise InvalidParameter("by", f"应为 {'|'.join(stats.GROUPS)} — unknown grouping")
    end = _day(q.get("to"), "to") + dt.timedelta(days=1) if q.get("to") else None
    start = _day(q.get("from"), "from") if q.get("from") else None
    end = end or dt.datetime.now(LOCAL).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) + dt.timedelta(days=1)
    start = start or end - dt.timedelta(days=30)
    if start >= end:
        raise InvalidParameter("from", "应早于 to — must be before to")
    rows = await common.run(
        common.settings_of(request),
        lambda cur: stats.by(cur, group, start, end, district=principal.district_code),
        read=True,
    )
    return common.json_response({"by": group, "from": start, "to": end, "rows": rows})


def _day(value: str, name: str) -> dt.datetime:
    try:
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidParameter(name, "应为日期 YYYY-MM-DD — expected a date") from None
    return dt.datetime.combine(day, dt.time(), LOCAL)
