"""OGC API Processes for grid editing: grid-reshape, grid-split, grid-merge (sync, JSON).

onemap's own routes rather than a pygeoapi BaseProcessor: pygeoapi's process
manager calls `execute(data)` without the request, so it cannot authorise the
caller, audit who did it, or share one transaction with the audit rows; and its
job store (TinyDB) is a second place of truth. Each execution here is one
transaction: the edit (through `grid_edits.apply`), its audit rows, commit —
or, with the input `"dry_run": true`, roll back: the caller sees the would-be
result (`"dry_run": true` in it) or the same 409 with violations, nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psycopg import Connection, Cursor
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gis_server import editing, json_body
from gis_server.auth import Role
from gis_server.auth.collection_policy import authorise
from gis_server.errors import InvalidParameter, NotFound
from gis_server.settings import Settings
from layers import grid_ops, topology
from layers.grid_edits import EditResult
from layers.registry import GRIDS

_CODE = {"type": "string", "minLength": 1}
_LINE = {"type": "object", "description": "GeoJSON LineString (CRS84)"}
_POLY = {"type": "object", "description": "GeoJSON Polygon or MultiPolygon (CRS84)"}
_VERSIONS = {
    "type": "object",
    "additionalProperties": {"type": "integer"},
    "description": "code → version the editor saw (optimistic concurrency, like If-Match)",
}
_DRY_RUN = {
    "title": "试算 Dry run",
    "schema": {"type": "boolean", "default": False},
    "minOccurs": 0,
    "description": "true: check and report what would happen (result or 409 violations), "
    "then roll back — nothing is written",
}
_OUTPUTS = {
    "result": {
        "title": "结果 Result",
        "schema": {
            "type": "object",
            "properties": {
                "closed": {"type": "array", "description": "closed versions {code, version}"},
                "opened": {"type": "array", "description": "new versions {code, version, area_m2}"},
                "reassigned": {"type": "object", "description": "{cameras, events} re-assigned"},
                "violations": {"type": "array"},
                "dry_run": {"type": "boolean", "description": "true: nothing was written"},
            },
        },
    }
}

PROCESSES: dict[str, dict[str, Any]] = {
    "grid-reshape": {
        "title": "调整网格边界 Reshape a shared grid boundary",
        "description": "Two neighbouring grids get a new shared boundary: give the boundary "
        "line (crossing their union) or the new geometry of the first; the second gets the "
        "rest of their union. Both get a new version.",
        "inputs": {
            "codes": {
                "title": "两个网格编码 Two grid codes",
                "schema": {"type": "array", "items": _CODE, "minItems": 2, "maxItems": 2},
            },
            "boundary": {"title": "新边界线 New boundary line", "schema": _LINE, "minOccurs": 0},
            "geometry": {
                "title": "第一个网格的新范围 New geometry of the first",
                "schema": _POLY,
                "minOccurs": 0,
            },
            "versions": {
                "title": "编辑时的版本 Versions seen",
                "schema": _VERSIONS,
                "minOccurs": 0,
            },
            "dry_run": _DRY_RUN,
        },
    },
    "grid-split": {
        "title": "拆分网格 Split a grid",
        "description": "Cut a grid by a line into parts with new codes (largest part first); "
        "the old grid is closed.",
        "inputs": {
            "code": {"title": "网格编码 Grid code", "schema": _CODE},
            "line": {"title": "分割线 Cutting line", "schema": _LINE},
            "new_codes": {
                "title": "新编码 New codes",
                "schema": {"type": "array", "items": _CODE},
                "minOccurs": 0,
            },
            "version": {
                "title": "编辑时的版本 Version seen",
                "schema": {"type": "integer"},
                "minOccurs": 0,
            },
            "dry_run": _DRY_RUN,
        },
    },
    "grid-merge": {
        "title": "合并网格 Merge grids",
        "description": "Join grids of one type and town into one: `into` is one of them "
        "(kept, new version) or a new code.",
        "inputs": {
            "codes": {
                "title": "网格编码 Grid codes",
                "schema": {"type": "array", "items": _CODE, "minItems": 2},
            },
            "into": {"title": "合并后编码 Resulting code", "schema": _CODE},
            "name": {
                "title": "合并后名称 Resulting name",
                "schema": {"type": "string"},
                "minOccurs": 0,
            },
            "versions": {
                "title": "编辑时的版本 Versions seen",
                "schema": _VERSIONS,
                "minOccurs": 0,
            },
            "dry_run": _DRY_RUN,
        },
    },
}


def _description(request: Request, pid: str, full: bool) -> dict[str, Any]:
    doc = PROCESSES[pid]
    path = request.url.path
    cut = path.index("/processes") + len("/processes")
    base = str(request.url.replace(path=path[:cut], query=""))
    out: dict[str, Any] = {
        "id": pid,
        "title": doc["title"],
        "description": doc["description"],
        "version": "1.0.0",
        "jobControlOptions": ["sync-execute"],
        "outputTransmission": ["value"],
        "links": [
            {"rel": "self", "type": "application/json", "href": f"{base}/{pid}"},
            {
                "rel": "http://www.opengis.net/def/rel/ogc/1.0/execute",
                "type": "application/json",
                "href": f"{base}/{pid}/execution",
            },
        ],
    }
    if full:
        out["inputs"] = doc["inputs"]
        out["outputs"] = _OUTPUTS
    return out


def _need(inputs: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    value = inputs.get(name)
    if not isinstance(value, kind):
        raise InvalidParameter(f"inputs.{name}", "缺少或类型错误 — missing or of the wrong type")
    return value


def _opt(inputs: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    return None if inputs.get(name) is None else _need(inputs, name, kind)


def _codes(inputs: dict[str, Any], name: str, required: bool = True) -> list[str] | None:
    """A list of grid codes: non-empty strings (an integer reaches SQL as a type error)."""
    codes = _need(inputs, name, list) if required else _opt(inputs, name, list)
    for i, code in enumerate(codes or ()):
        if not isinstance(code, str) or not code:
            raise InvalidParameter(f"inputs.{name}[{i}]", "应为非空字符串 — must be a grid code")
    return codes


def _versions(inputs: dict[str, Any]) -> dict[str, int] | None:
    """code → version seen: each version an integer (not a boolean)."""
    versions = _opt(inputs, "versions", dict)
    for code, version in (versions or {}).items():
        if isinstance(version, bool) or not isinstance(version, int):
            raise InvalidParameter(f"inputs.versions.{code}", "应为整数 — must be an integer")
    return versions


def _runner(
    pid: str, inputs: dict[str, Any], tol: topology.Tolerance
) -> Callable[[Cursor], EditResult]:
    """The edit an execution request asks for, checked for shape before any SQL runs."""
    allowed = set(PROCESSES[pid]["inputs"])
    unknown = sorted(set(inputs) - allowed)
    if unknown:
        raise InvalidParameter(f"inputs.{unknown[0]}", "未知输入 — unknown input")
    if pid == "grid-reshape":
        codes = _codes(inputs, "codes")
        boundary, geometry = _opt(inputs, "boundary", dict), _opt(inputs, "geometry", dict)
        versions = _versions(inputs)
        return lambda cur: grid_ops.reshape(
            cur, codes, boundary=boundary, geometry=geometry, expected=versions, tolerance=tol
        )
    if pid == "grid-split":
        code, line = _need(inputs, "code", str), _need(inputs, "line", dict)
        new_codes, version = _codes(inputs, "new_codes", False), _opt(inputs, "version", int)
        return lambda cur: grid_ops.split(
            cur, code, line, new_codes, expected=version, tolerance=tol
        )
    codes, into = _codes(inputs, "codes"), _need(inputs, "into", str)
    name, versions = _opt(inputs, "name", str), _versions(inputs)
    return lambda cur: grid_ops.merge(cur, codes, into, name, expected=versions, tolerance=tol)


def process_routes(settings: Settings) -> list[Route]:
    """/processes, /processes/{id}, /processes/{id}/execution (relative to /ogc)."""

    async def index(request: Request) -> Response:
        return JSONResponse(
            {
                "processes": [_description(request, pid, False) for pid in PROCESSES],
                "links": [{"rel": "self", "type": "application/json", "href": str(request.url)}],
            }
        )

    def _pid(request: Request) -> str:
        pid = request.path_params["process_id"]
        if pid not in PROCESSES:
            raise NotFound(f"没有该处理 — process {pid!r} not found")
        return pid

    async def describe(request: Request) -> Response:
        return JSONResponse(_description(request, _pid(request), True))

    async def execute(request: Request) -> Response:
        pid = _pid(request)
        # grid edits read and write grids: its read policy and a scoped key's collections
        principal = await authorise(request, Role.GIS_EDITOR, (GRIDS.id,), writes=(GRIDS.id,))
        body = await json_body.read_json(request)
        if not isinstance(body, dict) or not isinstance(body.get("inputs"), dict):
            raise InvalidParameter(
                "inputs", '请求体应为 {"inputs": {...}} — body must be {"inputs": {...}}'
            )
        inputs = dict(body["inputs"])
        dry_run = inputs.pop("dry_run", False)
        if not isinstance(dry_run, bool):
            raise InvalidParameter("inputs.dry_run", "应为布尔值 — must be true or false")
        run = _runner(pid, inputs, editing.tolerance(settings))

        def work(conn: Connection) -> dict[str, Any]:
            with conn.cursor() as cur:
                result = run(cur)
            editing.audit_grid_edit(conn, principal, pid, result, request)
            return result.outputs()

        outputs = await editing.run_edit_async(settings, work, dry_run=dry_run)
        if dry_run:
            outputs["dry_run"] = True
        return JSONResponse(outputs)

    return [
        Route("/processes", index, methods=["GET", "HEAD"]),
        Route("/processes/{process_id}", describe, methods=["GET", "HEAD"]),
        Route("/processes/{process_id}/execution", execute, methods=["POST"]),
    ]
