"""`POST /api/events`: one intake for 12345, 数字城管, camera AI, geofences and grid workers.

The body is checked here (400 naming the property); placing, matching the
duty rule and the idempotent insert are `layers.dispatch.intake.submit`.
201 with the new event, 200 with the existing one for a re-sent ticket.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gis_server import json_body
from gis_server.auth import Role
from gis_server.auth.collection_policy import authorise
from gis_server.dispatch import common
from gis_server.dispatch.location import Location, parse
from gis_server.errors import InvalidParameter
from layers import vocab
from layers.dispatch import intake, locate
from layers.dispatch.locate import Place
from layers.dispatch.timeline import Actor

MAX_TEXT = {
    "external_id": 128,
    "category": 64,
    "subcategory": 64,
    "description": 4000,
    "address": 200,
}
MAX_PHOTOS = 10


def _text(body: dict[str, Any], name: str, required: bool = False) -> str | None:
    value = body.get(name)
    if value is None or (isinstance(value, str) and not value.strip() and not required):
        if required:
            raise InvalidParameter(name, "必填 — required")
        return None
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameter(name, "应为非空文本 — must be a non-empty string")
    if len(value) > MAX_TEXT[name]:
        raise InvalidParameter(name, f"最长 {MAX_TEXT[name]} 个字符 — too long")
    return value.strip()


def _choice(body: dict[str, Any], name: str, codes: dict[str, str], default: str | None) -> str:
    value = body.get(name, default)
    if value not in codes:
        raise InvalidParameter(name, f"应为 {'|'.join(codes)} — unknown value {value!r}")
    return value


def _reporter(body: dict[str, Any]) -> tuple[str | None, str | None]:
    rep = body.get("reporter")
    if rep is None:
        return None, None
    if not isinstance(rep, dict):
        raise InvalidParameter("reporter", "应为对象 {name, phone} — must be an object")
    out = []
    for key in ("name", "phone"):
        v = rep.get(key)
        if v is not None and (not isinstance(v, str) or len(v) > 64):
            raise InvalidParameter(f"reporter.{key}", "应为文本(≤64) — a string of at most 64")
        out.append(v.strip() if v else None)
    return out[0], out[1]


def _photos(body: dict[str, Any]) -> list[str]:
    photos = body.get("photos", [])
    ok = isinstance(photos, list) and len(photos) <= MAX_PHOTOS
    if not ok or not all(isinstance(p, str) and 0 < len(p) <= 500 for p in photos):
        raise InvalidParameter("photos", f"应为最多 {MAX_PHOTOS} 个链接 — up to {MAX_PHOTOS} URLs")
    return photos


def ticket_fields(body: Any) -> tuple[dict[str, Any], Location]:
    """The checked fields of a Ticket (without its place) and the location to place it by."""
    if not isinstance(body, dict):
        raise InvalidParameter("body", "应为 JSON 对象 — must be a JSON object")
    name, phone = _reporter(body)
    fields = {
        "source": _choice(body, "source", vocab.EVENT_SOURCES, None),
        "external_id": _text(body, "external_id"),
        "category": _text(body, "category", required=True),
        "subcategory": _text(body, "subcategory"),
        "description": _text(body, "description"),
        "address": _text(body, "address"),
        "priority": _choice(body, "priority", vocab.EVENT_PRIORITIES, "normal"),
        "reporter_name": name,
        "reporter_phone": phone,
        "photos": _photos(body),
    }
    return fields, parse(body.get("location"))


def place_of(cur: Any, loc: Location, snap_m: float) -> Place:
    if loc.grid_code is not None:
        place = locate.at_grid(cur, loc.grid_code)
        if place is None:
            raise InvalidParameter(
                "location.grid_code", f"没有该网格 — no open grid {loc.grid_code!r}"
            )
        return place
    if loc.town is not None:
        place = locate.at_town(cur, loc.town)
        if place is None:
            raise InvalidParameter("location.town", f"没有该镇街 — no town {loc.town!r}")
        return place
    return locate.at_point(cur, loc.lon, loc.lat, snap_m)


async def submit(request: Request) -> Response:
    principal = await authorise(request, Role.REPORTER, writes=("events",))
    fields, loc = ticket_fields(await json_body.read_json(request))
    settings = common.settings_of(request)
    policy = common.policy(settings)

    # who submits: an intake system's account; its scope (department, grids) plays no part
    actor = Actor(principal.username, principal.role.label, principal.user_id)

    def work(cur: Any) -> tuple[dict[str, Any], bool]:
        if loc.grid_code is None and loc.town is None:  # a point: located and matched at once
            place, rule, now = intake.locate_and_match(
                cur, loc.lon, loc.lat, policy.snap_m, fields["category"], fields["subcategory"]
            )
            ticket = intake.Ticket(place=place, **fields)
            return intake.submit(cur, ticket, actor, policy, matched=(rule, now))
        ticket = intake.Ticket(place=place_of(cur, loc, policy.snap_m), **fields)
        return intake.submit(cur, ticket, actor, policy)

    # each statement its own transaction: the place and rule are a read, the write is one
    # statement (layers.dispatch.intake.WRITE_SQL), a re-sent ticket's read sees the winner;
    # prepared: at hundreds a second, planning the same two statements each time is wasted
    event, created = await common.run(
        settings, work, commit=True, each_statement=True, prepared=True
    )
    headers = {"ETag": f'"v{event["version"]}"', "Location": f"/api/events/{event['code']}"}
    return common.json_response(event, 201 if created else 200, headers)
