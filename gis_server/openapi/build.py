"""Turn (path, method, RouteDoc) operations into an OpenAPI `paths` object.

Both documents are made here: `/api` from the app's `DocumentedRoute`s,
`/ogc` from `ogc_operations` (the OGC routes described per registry layer).
The statuses every route can answer are added once, here, so no route has
to remember them: 400 (NUL or a malformed parameter), 401/403 below the
route's role (and 401 on every read when `ogc.public_reads` is off), 413 for
a body over `server.max_body_bytes`, 503 (with Retry-After) while PostGIS is away.
Response headers are declared the same way: a `Body` names the headers it is
sent with (`HEADERS` describes each once), and the headers a status always
carries (401 WWW-Authenticate, 405 Allow, 429/503 Retry-After, 304 the
validators) are added here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from gis_server.routing import Body, Param, RouteDoc

# alternative views of a JSON answer (pygeoapi's HTML, JSON-LD, CSV): not the JSON schema
UNTYPED = frozenset({"text/html", "application/ld+json", "text/csv"})
SAFE = frozenset({"GET", "HEAD", "OPTIONS"})
CREDENTIALS = [{"bearer": []}, {"apiKey": []}, {"session": []}]
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "an API key as Bearer token"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "session": {
        "type": "apiKey",
        "in": "cookie",
        "name": "onemap_session",
        "description": "the console's session (POST /api/auth/login); every write "
        "also needs the header X-CSRF-Token from the login answer",
    },
}
ERROR_TEXT = {
    400: "参数错误 — a parameter or the body is malformed (the body names it)",
    401: "需要登录 — no valid credentials",
    403: "权限不足 — the role is too low (or the CSRF token is missing)",
    404: "不存在 — no such resource",
    405: "不支持此方法 — the resource does not take this method (see Allow)",
    409: "冲突 — the write conflicts with the data (topology, an existing code)",
    412: "版本已变 — If-Match names a version that is no longer current",
    413: "请求体过大 — the body is larger than the server takes",
    415: "媒体类型不支持 — the body is not JSON",
    422: "要素无效 — the feature breaks the layer's schema (the body names the property)",
    428: "需要 If-Match — the layer requires If-Match on edits",
    429: "尝试过多 — too many failed logins (see Retry-After)",
    503: "数据库不可用 — PostGIS unreachable; retry after Retry-After seconds",
}
_TEXT = {"type": "string"}
HEADERS: dict[str, dict[str, Any]] = {
    "ETag": {"description": "the representation's validator (If-None-Match, If-Match)"},
    "Last-Modified": {"description": "when the layer last changed (If-Modified-Since)"},
    "Cache-Control": {"description": "how long a cache may keep the answer"},
    "Location": {"description": "the URL of the feature created"},
    "Allow": {"description": "the methods the resource takes"},
    "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}},
    "Link": {"description": "RFC 8288 links (e.g. rel=next)"},
    "Content-Crs": {"description": "the CRS of the geometries, e.g. <http://www.opengis.net/def/crs/OGC/1.3/CRS84>"},
    "Content-Language": {"description": "the language of the answer (zh-CN or en)"},
    "WWW-Authenticate": {"description": 'the scheme to authenticate with (Bearer realm="onemap")'},
}  # fmt: skip
VALIDATORS = ("ETag", "Last-Modified", "Cache-Control")
STATUS_HEADERS: dict[int, tuple[str, ...]] = {
    304: VALIDATORS,
    401: ("WWW-Authenticate",),
    405: ("Allow",),
    429: ("Retry-After",),
    503: ("Retry-After",),
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}  # both documents hold schemas.ERROR there
_PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]+)?}")


@dataclass(frozen=True)
class Operation:
    """One method on one path (OpenAPI path syntax: `{name}`), as documented."""

    path: str
    method: str
    doc: RouteDoc


def openapi_path(starlette_path: str) -> str:
    """`/a/{id:path}` → `/a/{id}` (OpenAPI has no converters)."""
    return _PATH_PARAM.sub(lambda m: "{" + m.group(1) + "}", starlette_path)


def error_body(status: int, description: str | None = None) -> Body:
    return Body(description or ERROR_TEXT.get(status, "error"), ERROR_REF)


def _param(p: Param) -> dict[str, Any]:
    out: dict[str, Any] = {"name": p.name, "in": p.where, "schema": dict(p.schema)}
    if p.required or p.where == "path":
        out["required"] = True
    if p.description:
        out["description"] = p.description
    return out


def _headers(status: int, body: Body) -> dict[str, Any]:
    names = dict.fromkeys((*body.headers, *STATUS_HEADERS.get(status, ())))
    return {n: {"schema": _TEXT, **HEADERS[n]} for n in names}


def _response(status: int, body: Body) -> dict[str, Any]:
    out: dict[str, Any] = {"description": body.description or str(status)}
    if headers := _headers(status, body):
        out["headers"] = headers
    schema = body.schema if body.schema is not None or status < 400 else ERROR_REF
    if body.media_types and status not in (204, 304):
        out["content"] = {
            mt: ({"schema": dict(schema)} if schema is not None and mt not in UNTYPED else {})
            for mt in body.media_types
        }
    return out


def _implied_statuses(op: Operation, public_reads: bool) -> list[int]:
    doc, method = op.doc, op.method.upper()
    implied = [400, 503]
    needs_login = doc.role is not None or method not in SAFE or not public_reads
    if needs_login and op.path not in OPEN_PATHS and method != "OPTIONS":
        implied.append(401)
    if doc.role is not None or (method not in SAFE and op.path not in OPEN_PATHS):
        implied.append(403)
    if doc.request is not None:
        implied.append(413)
    return implied


OPEN_PATHS = frozenset({"/healthz", "/api/auth/login", "/api/auth/logout"})


def operation_object(op: Operation, public_reads: bool = True) -> dict[str, Any]:
    doc = op.doc
    out: dict[str, Any] = {
        "operationId": operation_id(op),
        "summary": doc.summary,
        "responses": {},
    }
    if doc.description:
        out["description"] = doc.description
    if doc.tags:
        out["tags"] = list(doc.tags)
    if doc.params:
        out["parameters"] = [_param(p) for p in doc.params]
    if doc.request is not None:
        out["requestBody"] = {
            "required": True,
            "description": doc.request.description,
            "content": {
                mt: {"schema": dict(doc.request.schema or {})} for mt in doc.request.media_types
            },
        }
    responses = dict(doc.responses)
    for status in _implied_statuses(op, public_reads):
        responses.setdefault(status, error_body(status))
    out["responses"] = {str(s): _response(s, b) for s, b in sorted(responses.items())}
    if doc.role is not None:
        out["security"] = CREDENTIALS
        out["x-onemap-role"] = doc.role.label
    return out


def operation_id(op: Operation) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "_", op.path).strip("_") or "root"
    return f"{op.method.lower()}_{slug}"


def paths(operations: Iterable[Operation], public_reads: bool = True) -> dict[str, Any]:
    """The `paths` object; path parameters not declared by a route are added as strings."""
    out: dict[str, dict[str, Any]] = {}
    for op in operations:
        item = out.setdefault(op.path, {})
        obj = operation_object(op, public_reads)
        declared = {p["name"] for p in obj.get("parameters", []) if p["in"] == "path"}
        missing = [n for n in _PATH_PARAM.findall(op.path) if n not in declared]
        if missing:
            extra = [_param(Param(n, "path")) for n in missing]
            obj["parameters"] = extra + obj.get("parameters", [])
        item[op.method.lower()] = obj
    return out
