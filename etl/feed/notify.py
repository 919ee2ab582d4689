"""The live channel: what moved, told to every listener through PostgreSQL NOTIFY.

Payloads on `onemap_live` are JSON objects with a `kind`; this module sends
`{"kind": "vehicles", "fixes": [[code, lon, lat, speed, heading, epoch_s], …]}`,
split so that each stays under NOTIFY's 8000-byte limit. Sent inside the batch's
transaction, PostgreSQL delivers them only when it commits.
"""

from __future__ import annotations

import json

CHANNEL = "onemap_live"
MAX_PAYLOAD = 7900


def chunks(kind: str, key: str, items: list) -> list[str]:
    """JSON payloads `{"kind": kind, key: [...]}`, each under MAX_PAYLOAD bytes."""
    head = json.dumps({"kind": kind, key: []}, separators=(",", ":"))[:-2]  # …"key":[
    out: list[str] = []
    parts: list[str] = []
    size = len(head) + 2
    for item in items:
        text = json.dumps(item, separators=(",", ":"), ensure_ascii=False)
        grow = len(text.encode()) + (1 if parts else 0)
        if parts and size + grow > MAX_PAYLOAD:
            out.append(head + ",".join(parts) + "]}")
            parts, size = [], len(head) + 2
            grow = len(text.encode())
        parts.append(text)
        size += grow
    if parts:
        out.append(head + ",".join(parts) + "]}")
    return out


def notify(cur, kind: str, key: str, items: list) -> int:
    """pg_notify each chunk on CHANNEL; returns how many were sent."""
    payloads = chunks(kind, key, items)
    for payload in payloads:
        cur.execute(
            "SELECT pg_notify(%(channel)s, %(payload)s)", {"channel": CHANNEL, "payload": payload}
        )
    return len(payloads)
