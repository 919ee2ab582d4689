"""Grid workers on duty (上岗/下岗): duty periods and the phone's positions while on duty.

A worker's position is personal data: it is stored only inside an open duty period
(`report` refuses it otherwise, and the check and the insert are one statement, so
a report racing a sign-off cannot land after it). Each report moves the worker's row
in `worker_locations` (what the big screen and dispatch read) and adds one row to
`worker_positions`, whose rows older than `keep_days` go whenever someone goes on
duty (bounded without a sweeper). Every change is a `workers` NOTIFY on the live
channel, delivered at commit. Driver-neutral SQL; nothing commits.
"""

from __future__ import annotations

import json
from typing import Any

CHANNEL = "onemap_live"


class OffDuty(Exception):
    """The worker is not on duty: no position is taken."""


_OPEN = """
SELECT id, started_at FROM worker_duties WHERE user_id = %(user)s AND ended_at IS NULL
"""

_START = """
INSERT INTO worker_duties (user_id) VALUES (%(user)s)
ON CONFLICT (user_id) WHERE ended_at IS NULL DO NOTHING
RETURNING id, started_at
"""

_PRUNE = """
DELETE FROM worker_positions WHERE fix_time < now() - make_interval(days => %(days)s)
"""

_END = """
WITH d AS (
    UPDATE worker_duties SET ended_at = now()
    WHERE user_id = %(user)s AND ended_at IS NULL
    RETURNING id, started_at, ended_at
), gone AS (
    DELETE FROM worker_locations l USING d WHERE l.user_id = %(user)s
)
SELECT id, started_at, ended_at FROM d
"""

# the duty check and the insert in one statement, the period locked (FOR SHARE) so a
# sign-off waits for it or it sees the sign-off: no position outside a duty period
_REPORT = """
WITH d AS (
    SELECT id FROM worker_duties WHERE user_id = %(user)s AND ended_at IS NULL FOR SHARE
), p AS (
    INSERT INTO worker_positions (user_id, fix_time, duty_id, accuracy_m, geom)
    SELECT %(user)s, now(), d.id, %(accuracy)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)
    FROM d
    ON CONFLICT (user_id, fix_time) DO NOTHING
    RETURNING duty_id, fix_time, accuracy_m, geom
), l AS (
    INSERT INTO worker_locations (user_id, duty_id, fix_time, accuracy_m, geom)
    SELECT %(user)s, duty_id, fix_time, accuracy_m, geom FROM p
    ON CONFLICT (user_id) DO UPDATE SET duty_id = EXCLUDED.duty_id,
        fix_time = EXCLUDED.fix_time, accuracy_m = EXCLUDED.accuracy_m, geom = EXCLUDED.geom
    RETURNING fix_time
)
SELECT (SELECT id FROM d), extract(epoch FROM (SELECT fix_time FROM l))::float8
"""

ON_DUTY_SQL = """
SELECT u.username, coalesce(u.display_name, u.username) AS name, d.started_at,
       ST_X(l.geom) AS lon, ST_Y(l.geom) AS lat, l.accuracy_m,
       extract(epoch FROM l.fix_time)::float8 AS epoch
FROM worker_duties d
JOIN users u ON u.id = d.user_id
LEFT JOIN worker_locations l ON l.user_id = d.user_id AND l.duty_id = d.id
WHERE d.ended_at IS NULL
ORDER BY u.username
"""

_WHO = "SELECT username, coalesce(display_name, username) FROM users WHERE id = %(user)s"


def _notify(cur: Any, body: dict[str, Any]) -> None:
    payload = json.dumps({"kind": "workers", **body}, ensure_ascii=False, separators=(",", ":"))
    cur.execute("SELECT pg_notify(%(ch)s, %(p)s)", {"ch": CHANNEL, "p": payload})


def _who(cur: Any, user_id: int) -> tuple[str, str]:
    cur.execute(_WHO, {"user": user_id})
    username, name = cur.fetchone()
    return username, name


def status(cur: Any, user_id: int) -> dict[str, Any]:
    """Whether the worker is on duty, since when, and the last position taken."""
    cur.execute(_OPEN, {"user": user_id})
    row = cur.fetchone()
    if row is None:
        return {"on_duty": False, "started_at": None, "last_report": None}
    cur.execute(
        "SELECT fix_time FROM worker_locations WHERE user_id = %(user)s AND duty_id = %(d)s",
        {"user": user_id, "d": row[0]},
    )
    last = cur.fetchone()
    return {"on_duty": True, "started_at": row[1], "last_report": last[0] if last else None}


def start(cur: Any, user_id: int, keep_days: int) -> dict[str, Any]:
    """上岗: open a duty period (already open: kept as it is). Old positions are pruned."""
    cur.execute(_START, {"user": user_id})
    if cur.fetchone() is not None:
        username, name = _who(cur, user_id)
        _notify(cur, {"on": [username, name]})
        cur.execute(_PRUNE, {"days": keep_days})
    return status(cur, user_id)


def end(cur: Any, user_id: int) -> dict[str, Any]:
    """下岗: close the open duty period; its latest position leaves the map. OffDuty if none."""
    cur.execute(_END, {"user": user_id})
    row = cur.fetchone()
    if row is None:
        raise OffDuty("未在岗 — not on duty")
    username, _ = _who(cur, user_id)
    _notify(cur, {"off": [username]})
    return {"on_duty": False, "started_at": row[1], "ended_at": row[2], "last_report": None}


def report(
    cur: Any, user_id: int, lon: float, lat: float, accuracy_m: float | None
) -> dict[str, Any]:
    """One position from the phone of a worker on duty; OffDuty (nothing stored) if not."""
    cur.execute(_REPORT, {"user": user_id, "lon": lon, "lat": lat, "accuracy": accuracy_m})
    duty_id, epoch = cur.fetchone()
    if duty_id is None:
        raise OffDuty("未上岗，不采集位置 — not on duty: no position is taken")
    if epoch is not None:  # a second report within the same microsecond is the same fix
        username, name = _who(cur, user_id)
        _notify(cur, {"workers": [[username, name, lon, lat, accuracy_m, epoch]]})
    return {"on_duty": True, "stored": epoch is not None, "epoch": epoch}


def on_duty(cur: Any) -> list[dict[str, Any]]:
    """Every worker on duty with the latest position of this period (None before the first)."""
    cur.execute(ON_DUTY_SQL)
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
