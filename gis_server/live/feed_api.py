"""`POST /api/feed/positions`: fixes pushed over HTTP by trackers and vendor platforms.

A JSON array of fix objects (or one object), or CSV with a header row of the
same names (vehicle,t,lon,lat,speed,heading,crs). Needs an API key (or session)
of role dispatcher or higher: pushing positions is operating the fleet's
picture, which dispatchers already do; no separate feed role to administer.
The batch is one transaction (`etl.feed.ingest`); the answer gives the counts
and every dropped row by index (0-based, data rows) and reason.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import psycopg
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from etl.feed.fix import BadFix, Fix, from_payload
from etl.feed.ingest import FeedRules, ingest
from gis_server import json_body
from gis_server.auth import Role
from gis_server.auth.collection_policy import authorise
from gis_server.database import pooled
from gis_server.errors import DatabaseUnavailable, InvalidBatch, UnsupportedMediaType
from gis_server.live.config import feed_rules
from gis_server.routing import Body, RouteDoc, api_route

MAX_ROWS = 10_000
_FIX_SCHEMA = {
    "type": "object",
    "required": ["vehicle", "t", "lon", "lat"],
    "properties": {
        "vehicle": {"type": "string", "description": "vehicle code or plate"},
        "t": {"type": ["string", "integer"], "description": "ISO 8601 or epoch ms"},
        "lon": {"type": "number"},
        "lat": {"type": "number"},
        "speed": {"type": "number", "description": "km/h"},
        "heading": {"type": "number", "description": "degrees"},
        "crs": {"type": "string", "enum": ["wgs84", "gcj02", "bd09"]},
    },
}
_RESULT_SCHEMA = {
    "type": "object",
    "properties": {
        "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
        "rejected": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "index": {"type": "integer"},
                    "reason": {"type": "string"},
                    "detail": {"type": "string"},
                },
            },
        },
    },
}


def _rows_of_csv(raw: bytes) -> list[dict[str, Any]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidBatch("CSV 须为 UTF-8 — CSV must be UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or "vehicle" not in reader.fieldnames:
        raise InvalidBatch("CSV 须有表头 vehicle,t,lon,lat,… — CSV needs a header row")
    return [{k.strip(): v for k, v in row.items() if k} for row in reader]


async def _rows(request: Request) -> list[Any]:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "text/csv":
        rows: list[Any] = _rows_of_csv(await request.body())
    elif kind == "application/json" or kind.endswith("+json"):
        value = await json_body.read_json(request)
        rows = value if isinstance(value, list) else [value]
    else:
        raise UnsupportedMediaType("须为 application/json 或 text/csv — send JSON or CSV")
    if len(rows) > MAX_ROWS:
        raise InvalidBatch(f"每批最多 {MAX_ROWS} 行 — at most {MAX_ROWS} rows per batch")
    return rows


def store_rows(dsn: str, pool_size: int, rows: list[Any], rules: FeedRules) -> dict[str, Any]:
    """Parse rows, ingest the good ones; rejected indexes are the request's rows."""
    good: list[tuple[int, Fix]] = []
    rejected: list[dict[str, Any]] = []
    for i, row in enumerate(rows):
        try:
            good.append((i, from_payload(row)))
        except BadFix as exc:
            rejected.append({"index": i, "reason": "invalid", "detail": str(exc)})
    try:
        with pooled(dsn, pool_size) as conn:
            result = ingest(conn, [f for _, f in good], rules)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"数据库不可用 — database unavailable: {exc}") from exc
    rejected += [
        {"index": good[k][0], "reason": reason, "detail": detail}
        for k, reason, detail in result.rejected
    ]
    counts = result.counts()
    counts["received"] = len(rows)
    counts["invalid"] += len(rows) - len(good)
    return {"counts": counts, "rejected": sorted(rejected, key=lambda r: r["index"])}


async def post_positions(request: Request) -> JSONResponse:
    await authorise(request, Role.DISPATCHER, writes=("vehicles",))  # a write to vehicles
    rows = await _rows(request)
    settings = request.app.state.settings
    db = settings.database
    body = await run_in_threadpool(store_rows, db.dsn, db.pool_size, rows, feed_rules(settings))
    return JSONResponse(body)


def feed_api_routes() -> list:
    return [
        api_route(
            "/api/feed/positions",
            post_positions,
            methods=("POST",),
            doc=RouteDoc(
                summary="Push GPS fixes (JSON array or CSV); returns counts and rejected rows",
                role=Role.DISPATCHER,
                tags=("feed",),
                request=Body(
                    "fixes",
                    {"oneOf": [{"type": "array", "items": _FIX_SCHEMA}, _FIX_SCHEMA]},
                    ("application/json", "text/csv"),
                ),
                responses={200: Body("what became of the batch", _RESULT_SCHEMA)},
            ),
        )
    ]
