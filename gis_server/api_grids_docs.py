"""What the /api/grids routes take and give (their `RouteDoc`s, for OpenAPI and the role matrix)."""

from __future__ import annotations

from gis_server.auth.roles import Role
from gis_server.routing import Body, Param, RouteDoc
from layers import vocab

_TYPE = Param(
    "type",
    schema={"type": "string", "enum": sorted(vocab.GRID_TYPES)},
    description="only grids of this type",
)
_CODE = Param("code", "path", description="grid code")
_INSTANT = {"type": "string", "format": "date-time"}
_ERR = Body("error")
_OBJECT = {"type": "object"}
TAGS = ("grids",)

CHECK = RouteDoc(  # seconds of work: signed-in users only, kept per grids version
    "网格拓扑检查 topology report (gaps, overlaps, slivers)",
    role=Role.VIEWER,
    tags=TAGS,
    params=(_TYPE,),
    responses={
        200: Body(
            "the report",
            {
                "type": "object",
                "required": ["ok", "counts", "violations"],
                "properties": {
                    "grid_type": {"type": ["string", "null"]},
                    "tolerance": _OBJECT,
                    "ok": {"type": "boolean"},
                    "counts": _OBJECT,
                    "violations": {"type": "array", "items": _OBJECT},
                    "elapsed_ms": {"type": "integer"},
                },
            },
        )
    },
)
DIFF = RouteDoc(
    "网格布局对比 layout diff between two instants",
    tags=TAGS,
    params=(
        Param(
            "from", required=True, schema=_INSTANT, description="ISO 8601 (Asia/Shanghai if naive)"
        ),
        Param("to", required=True, schema=_INSTANT),
        _TYPE,
    ),
    responses={
        200: Body(
            "grids added, removed, reshaped, modified",
            {
                "type": "object",
                "required": ["from", "to"],
                "properties": {"from": _INSTANT, "to": _INSTANT},
            },
        )
    },
)
HISTORY = RouteDoc(
    "网格版本历史 a grid's versions",
    tags=TAGS,
    params=(_CODE,),
    responses={
        200: Body(
            "every version, oldest first",
            {
                "type": "object",
                "required": ["code", "versions"],
                "properties": {
                    "code": {"type": "string"},
                    "versions": {"type": "array", "items": _OBJECT},
                },
            },
        ),
        404: _ERR,
    },
)
RESTORE = RouteDoc(
    "恢复网格版本 restore an earlier version (a new version, audited)",
    role=Role.GIS_EDITOR,
    tags=TAGS,
    params=(_CODE, Param("If-Match", "header", description='the open version\'s ETag "v<n>"')),
    request=Body(
        "the version to restore",
        {"type": "object", "required": ["version"], "properties": {"version": {"type": "integer", "minimum": 1}}},
    ),
    responses={
        200: Body("closed and opened versions (ETag: the new one)", _OBJECT),
        404: _ERR,
        409: _ERR,
        412: _ERR,
        422: _ERR,
        428: _ERR,
    },
)  # fmt: skip
