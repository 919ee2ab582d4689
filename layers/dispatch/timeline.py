"""The timeline row and the live notification every change of an event writes.

Both go into the caller's transaction: a rolled-back change leaves no row and
sends no notification (PostgreSQL delivers NOTIFY only on commit).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

LIVE_CHANNEL = "onemap_live"


@dataclass(frozen=True)
class Actor:
    """Who acts: a user (with role label and scope) or a system name such as ``cli:root``."""

    name: str
    role: str | None = None
    user_id: int | None = None
    department_code: str | None = None
    grid_codes: frozenset[str] = frozenset()
    district_code: str | None = None  # None: every district (the whole city)


RECORD_SQL = """
INSERT INTO event_actions (event_code, action, from_status, to_status, actor, actor_user_id,
                           role, note, department_code, at)
VALUES (%(code)s, %(action)s, %(from_status)s, %(to_status)s, %(actor)s, %(user_id)s,
        %(role)s, %(note)s, %(department_code)s, clock_timestamp())
"""

# The live message of an event row (its columns in scope): here and in intake's one statement.
PAYLOAD_SQL = """json_build_object(
  'kind', 'event', 'code', code, 'status', status, 'town_code', town_code,
  'department_code', department_code, 'district_code', district_code,
  'lon', round(ST_X(geom)::numeric, 6),
  'lat', round(ST_Y(geom)::numeric, 6), 'version', version)::text"""

NOTIFY_SQL = f"SELECT pg_notify(%(channel)s, {PAYLOAD_SQL}) FROM events WHERE code = %(code)s"


def record(
    cur: Any,
    code: str,
    action: str,
    actor: Actor,
    from_status: str | None,
    to_status: str,
    *,
    note: str | None = None,
    department_code: str | None = None,
) -> None:
    """Append one timeline row (not committed here)."""
    cur.execute(
        RECORD_SQL,
        {
            "code": code,
            "action": action,
            "from_status": from_status,
            "to_status": to_status,
            "actor": actor.name,
            "user_id": actor.user_id,
            "role": actor.role,
            "note": note,
            "department_code": department_code,
        },
    )


def notify(cur: Any, code: str) -> None:
    """`{"kind": "event", code, status, town_code, department_code, district_code, lon, lat,
    version}` (the district: a scoped account's live stream keeps to it)."""
    cur.execute(NOTIFY_SQL, {"channel": LIVE_CHANNEL, "code": code})
    cur.fetchall()


def payload_keys() -> tuple[str, ...]:
    """The keys of a live message (documented for the SSE stream's clients)."""
    return (
        "kind", "code", "status", "town_code", "department_code", "district_code", "lon", "lat",
        "version",
    )  # fmt: skip


def as_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
