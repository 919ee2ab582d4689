"""JSON Schemas of the dispatch routes' bodies (for RouteDoc → /api/openapi.json)."""

from __future__ import annotations

from layers import vocab
from layers.dispatch import lifecycle, queues

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}

LOCATION = {
    "oneOf": [
        {"type": "object", "required": ["lon", "lat"], "properties": {
            "lon": {"type": "number"}, "lat": {"type": "number"},
            "crs": {"enum": ["wgs84", "cgcs2000", "gcj02", "bd09"], "default": "wgs84"}}},
        {"type": "object", "required": ["grid_code"], "properties": {"grid_code": _STR}},
        {"type": "object", "required": ["town"], "properties": {"town": _STR}},
    ]
}  # fmt: skip

INTAKE = {
    "type": "object",
    "required": ["source", "category", "location"],
    "properties": {
        "source": {"enum": list(vocab.EVENT_SOURCES)},
        "external_id": {"type": "string", "maxLength": 128,
                        "description": "the sender's ticket id; re-sending it returns the same event"},
        "category": {"type": "string", "maxLength": 64}, "subcategory": _STR,
        "description": _STR, "address": _STR, "location": LOCATION,
        "reporter": {"type": "object", "properties": {"name": _STR, "phone": _STR},
                     "description": "private: stored apart, shown to dispatchers and admins only"},
        "photos": {"type": "array", "items": _STR, "maxItems": 10},
        "priority": {"enum": list(vocab.EVENT_PRIORITIES), "default": "normal"},
    },
}  # fmt: skip

EVENT = {
    "type": "object",
    "required": ["code", "status", "version"],
    "properties": {
        "code": _STR, "status": {"enum": list(vocab.EVENT_STATUSES)},
        "source": {"enum": list(vocab.EVENT_SOURCES)}, "external_id": _NSTR,
        "category": _STR, "subcategory": _NSTR, "priority": {"enum": list(vocab.EVENT_PRIORITIES)},
        "grid_code": _NSTR, "town_code": _NSTR, "district_code": _STR, "grid_worker": _NSTR,
        "department_code": _NSTR, "department": _NSTR, "dispatch_reason": _NSTR,
        "version": {"type": "integer"}, "escalation_level": {"type": "integer"},
        "satisfaction": {"enum": [*vocab.SATISFACTION, None]},
        "created_at": _TIME, "dispatched_at": _TIME, "accepted_at": _TIME, "resolved_at": _TIME,
        "verified_at": _TIME, "closed_at": _TIME, "due_at": _TIME, "overdue": {"type": "boolean"},
        "lon": {"type": "number"}, "lat": {"type": "number"},
        "allowed_actions": {"type": "array", "items": {"enum": list(lifecycle.ACTIONS)}},
    },
}  # fmt: skip

EVENT_DETAIL = {
    **EVENT,
    "properties": {
        **EVENT["properties"],
        "timeline": {"type": "array", "items": {"type": "object", "properties": {
            "action": {"enum": list(vocab.EVENT_ACTIONS)}, "from_status": _NSTR,
            "to_status": _STR, "actor": _STR, "role": _NSTR, "at": _TIME, "note": _NSTR,
            "department_code": _NSTR}}},
        "cohandlers": {"type": "array", "items": _STR},
        "shares": {"type": "array", "description": "协办 shares; the lead resolves once all are done",
                   "items": {"type": "object", "properties": {
                       "department_code": _STR, "department": _STR, "added_at": _TIME,
                       "done_at": _TIME, "done_by": _NSTR, "done_note": _NSTR}}},
        "reporter": {"type": ["object", "null"], "description": "dispatcher and admin only",
                     "properties": {"name": _NSTR, "phone": _NSTR}},
    },
}  # fmt: skip

EVENT_PAGE = {
    "type": "object",
    "properties": {
        "queue": {"enum": list(queues.QUEUES)}, "total": {"type": "integer"},
        "limit": {"type": "integer"}, "offset": {"type": "integer"},
        "events": {"type": "array", "items": EVENT},
    },
}  # fmt: skip

ACTION = {
    "type": "object",
    "required": ["action"],
    "properties": {
        "action": {"enum": list(lifecycle.ACTIONS)}, "note": _STR, "department_code": _STR,
        "expected_version": {"type": "integer", "minimum": 1,
                             "description": "or If-Match: \"v<version>\"; a stale one gets 412"},
        "satisfaction": {"enum": list(vocab.SATISFACTION)},
    },
}  # fmt: skip

NEARBY = {
    "type": "object",
    "properties": {
        "event": _STR, "cameras": {"type": "array", "items": {"type": "object"}},
        "vehicles": {"type": "array", "items": {"type": "object"}},
        "grid_worker": {"type": ["object", "null"],
                        "properties": {"grid_code": _STR, "name": _NSTR, "phone": _NSTR}},
        "workers_on_duty": {"type": "array", "items": {"type": "object", "properties": {
            "username": _STR, "name": _STR, "last_report": _TIME,
            "distance_m": {"type": "number"}, "phone": _NSTR}}},
    },
}  # fmt: skip

DEPARTMENT = {
    "type": "object",
    "required": ["code", "name", "kind"],
    "properties": {"code": {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"}, "name": _STR,
                   "kind": {"enum": list(vocab.DEPARTMENT_KINDS)}, "town_code": _NSTR,
                   "phone": _NSTR},
}  # fmt: skip

RULE = {
    "type": "object",
    "required": ["category", "department_code", "time_limit_hours"],
    "properties": {"id": {"type": "integer"}, "category": _STR, "subcategory": _NSTR,
                   "town_code": _NSTR, "department_code": _STR,
                   "time_limit_hours": {"type": "number", "exclusiveMinimum": 0},
                   "urgent_hours": {"type": ["number", "null"]},
                   "critical_hours": {"type": ["number", "null"]},
                   "same_day": {"type": "boolean"}, "note": _NSTR},
}  # fmt: skip


def list_of(schema: dict, key: str) -> dict:
    return {"type": "object", "properties": {key: {"type": "array", "items": schema}}}


STATS = {
    "type": "object",
    "properties": {
        "by": _STR, "from": _TIME, "to": _TIME,
        "rows": {"type": "array", "items": {"type": "object", "properties": {
            "key": _NSTR, "received": {"type": "integer"}, "auto_dispatched": {"type": "integer"},
            "closed": {"type": "integer"}, "closure_rate": {"type": ["number", "null"]},
            "on_time_rate": {"type": ["number", "null"]},
            "mean_handling_hours": {"type": ["number", "null"]}, "returns": {"type": "integer"},
            "satisfaction_rate": {"type": ["number", "null"]}}}},
    },
}  # fmt: skip

PHOTO = {
    "type": "object",
    "required": ["id", "url", "media_type", "photos"],
    "properties": {
        "id": _STR, "url": _STR, "media_type": {"enum": ["image/jpeg", "image/png"]},
        "bytes": {"type": "integer"}, "photos": {"type": "array", "items": _STR},
    },
}  # fmt: skip
