"""Which photos an event has: `events.photos` holds their URLs (uploads and intake links alike)."""

from __future__ import annotations

import json
from typing import Any

from layers.dispatch import timeline
from layers.dispatch.errors import BadInput, UnknownEvent
from layers.dispatch.timeline import Actor

MAX_PHOTOS = 20


def url(code: str, filename: str) -> str:
    """The URL an uploaded photo is served at (it names the event, so access follows the event)."""
    return f"/api/events/{code}/photos/{filename}"


def attach(cur: Any, code: str, photo_url: str, actor: Actor) -> list[str]:
    """Append `photo_url` to the event's photos (not committed here); the list afterwards.

    The timeline gets a `photo` row and the live stream a notice in the same
    transaction (the panel showing the event re-reads it). The version is not
    bumped: a photo is evidence, not a step, so an action the phone sends right
    after its upload still matches the version it read.
    """
    cur.execute(
        "UPDATE events SET photos = photos || %(p)s::jsonb WHERE code = %(code)s "
        "AND jsonb_array_length(photos) < %(max)s RETURNING photos, status, department_code",
        {"p": json.dumps([photo_url]), "code": code, "max": MAX_PHOTOS},
    )
    row = cur.fetchone()
    if row is None:
        if not exists(cur, code):
            raise UnknownEvent(code)
        raise BadInput("photos", f"每个事件最多 {MAX_PHOTOS} 张照片 — at most {MAX_PHOTOS} photos")
    listed, status, dept = row
    timeline.record(cur, code, "photo", actor, status, status, note=photo_url, department_code=dept)
    timeline.notify(cur, code)
    return list(listed)


def exists(cur: Any, code: str) -> bool:
    cur.execute("SELECT 1 FROM events WHERE code = %(code)s", {"code": code})
    return cur.fetchone() is not None


def has_photo(cur: Any, code: str, photo_url: str) -> bool:
    cur.execute(
        "SELECT 1 FROM events WHERE code = %(code)s AND photos @> %(p)s::jsonb",
        {"code": code, "p": json.dumps([photo_url])},
    )
    return cur.fetchone() is not None
