"""MQTT and HTTP payloads to Fixes: a JSON object, or an array of them (see fix.py)."""

from __future__ import annotations

import json

from etl.feed.fix import BadFix, Fix, from_payload

MAX_PAYLOAD_BYTES = 4 * 1024 * 1024


def fixes_of(raw: bytes, topic_vehicle: str | None = None) -> tuple[list[Fix], list[str]]:
    """(fixes, problems) of one message; a problem per item that can never be a fix.
    `topic_vehicle` (the topic's last level) names the vehicle when an item does not."""
    if len(raw) > MAX_PAYLOAD_BYTES:
        return [], [f"(payload): larger than {MAX_PAYLOAD_BYTES} bytes"]
    try:
        value = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        return [], [f"(payload): not JSON ({str(exc)[:80]})"]
    items = value if isinstance(value, list) else [value]
    fixes: list[Fix] = []
    problems: list[str] = []
    for k, item in enumerate(items):
        if topic_vehicle and isinstance(item, dict) and "vehicle" not in item:
            item = {**item, "vehicle": topic_vehicle}
        try:
            fixes.append(from_payload(item))
        except BadFix as exc:
            problems.append(f"[{k}] {exc}")
    return fixes, problems
