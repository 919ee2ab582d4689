"""`/api/departments` and `/api/duty-rules` (+ `/import` from XLSX): the admin's duty list.

Reads need an account (viewer); writes need admin and are audited in their
transaction (`audit.record`, layer "departments" / "duty_rules").
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from etl.duty_xlsx import DutyFileError, read_rules
from gis_server import json_body
from gis_server.auth import Principal, Role, audit, client_ip, require
from gis_server.dispatch import common
from gis_server.errors import InvalidParameter, NotFound, UnsupportedMediaType
from layers.dispatch import duties

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
MAX_XLSX = 5 * 1024 * 1024


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidParameter("body", "应为 JSON 对象 — must be a JSON object")
    return body


def _rule_id(request: Request) -> int:
    try:
        return int(request.path_params["id"])
    except ValueError:
        raise NotFound("没有该规则 — no such duty rule") from None


def _audit(
    cur: Any,
    request: Request,
    who: Principal,
    action: str,
    layer: str,
    fid: Any,
    before: Any,
    after: Any,
) -> None:
    audit.record(
        cur.connection, who, action, layer, fid, before, after, client_ip=client_ip(request)
    )


async def departments(request: Request) -> Response:
    await require(request, Role.VIEWER)
    rows = await common.run(common.settings_of(request), duties.list_departments)
    return common.json_response({"departments": rows})


async def save_department(request: Request) -> Response:
    who = await require(request, Role.ADMIN)
    body = _object(await json_body.read_json(request))
    if request.method == "PUT":
        body = {**body, "code": request.path_params["code"]}
    if not isinstance(body.get("code"), str) or not isinstance(body.get("name"), str):
        raise InvalidParameter(
            "code" if not isinstance(body.get("code"), str) else "name", "必填 — required"
        )

    def work(cur: Any) -> tuple[dict[str, Any], bool]:
        row, created = duties.save_department(cur, body)
        _audit(
            cur,
            request,
            who,
            "create" if created else "update",
            "departments",
            row["code"],
            None,
            row,
        )
        return row, created

    row, created = await common.run(common.settings_of(request), work, commit=True)
    return common.json_response(row, 201 if created else 200)


async def delete_department(request: Request) -> Response:
    who = await require(request, Role.ADMIN)
    code = request.path_params["code"]

    def work(cur: Any) -> bool:
        gone = duties.delete_department(cur, code)
        if gone:
            _audit(cur, request, who, "delete", "departments", code, {"code": code}, None)
        return gone

    if not await common.run(common.settings_of(request), work, commit=True):
        raise NotFound(f"没有该部门 — no department {code!r}")
    return Response(status_code=204)


async def rules(request: Request) -> Response:
    await require(request, Role.VIEWER)
    rows = await common.run(common.settings_of(request), duties.list_rules)
    return common.json_response({"duty_rules": rows})


async def save_rule(request: Request) -> Response:
    who = await require(request, Role.ADMIN)
    body = _object(await json_body.read_json(request))
    rule_id = _rule_id(request) if request.method == "PUT" else None

    def work(cur: Any) -> tuple[dict[str, Any] | None, bool]:
        if rule_id is None:
            row, created = duties.save_rule(cur, body)
        else:
            row, created = duties.update_rule(cur, rule_id, body), False
        if row is not None:
            _audit(
                cur,
                request,
                who,
                "create" if created else "update",
                "duty_rules",
                row["id"],
                None,
                row,
            )
        return row, created

    row, created = await common.run(common.settings_of(request), work, commit=True)
    if row is None:
        raise NotFound("没有该规则 — no such duty rule")
    return common.json_response(row, 201 if created else 200)


async def delete_rule(request: Request) -> Response:
    who = await require(request, Role.ADMIN)
    rule_id = _rule_id(request)

    def work(cur: Any) -> bool:
        gone = duties.delete_rule(cur, rule_id)
        if gone:
            _audit(cur, request, who, "delete", "duty_rules", rule_id, {"id": rule_id}, None)
        return gone

    if not await common.run(common.settings_of(request), work, commit=True):
        raise NotFound("没有该规则 — no such duty rule")
    return Response(status_code=204)


async def import_rules(request: Request) -> Response:
    who = await require(request, Role.ADMIN)
    if request.headers.get("content-type", "").split(";")[0].strip() != XLSX:
        raise UnsupportedMediaType(f"应为 {XLSX} — send the XLSX file as the body")
    data = await json_body.read_body(request, MAX_XLSX)
    try:
        rows = list(read_rules(data))
    except DutyFileError as exc:
        raise InvalidParameter("body", str(exc)) from None

    def work(cur: Any) -> dict[str, int]:
        counts = duties.import_rules(cur, rows)
        _audit(cur, request, who, "import", "duty_rules", None, None, {"rows": len(rows), **counts})
        return counts

    counts = await common.run(common.settings_of(request), work, commit=True)
    return common.json_response({"rows": len(rows), **counts})
