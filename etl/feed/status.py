"""`onemap feed status`: what the database says about the live feed (rates, lag, online
vehicles, partitions, open geofence episodes, how far the day tracks and trips are
behind the stored fixes), plus the feed process's own counters
when it wrote them (`MqttFeed.run_forever` → a JSON status file)."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg

_FACTS = """
SELECT
  (SELECT count(*) FROM vehicle_positions
    WHERE fix_time > now() - interval '1 minute' AND fix_time <= now() + interval '1 minute'),
  (SELECT count(*) FROM vehicle_positions
    WHERE fix_time > now() - interval '5 minutes' AND fix_time <= now() + interval '1 minute'),
  (SELECT max(last_fix_at) FROM vehicles WHERE last_fix_at <= now() + interval '1 minute'),
  (SELECT extract(epoch FROM now() - max(last_fix_at)) FROM vehicles
    WHERE last_fix_at <= now() + interval '1 minute'),
  (SELECT count(*) FROM pg_inherits WHERE inhparent = 'vehicle_positions'::regclass),
  (SELECT count(*) FROM geofence_alerts WHERE ended_at IS NULL)
"""

_TERMINALS = """
SELECT count(*), count(*) FILTER (WHERE last_seen_at > now() - make_interval(secs => %(s)s))
FROM jt808_terminals
"""

_ONLINE = """
SELECT kind, count(*) FILTER (WHERE last_fix_at > now() - make_interval(secs => %(s)s)),
       count(*) FILTER (WHERE last_fix_at IS NULL OR last_fix_at <= now() - make_interval(secs => %(s)s))
FROM vehicles GROUP BY kind ORDER BY kind
"""


def feed_status(
    dsn: str, offline_after_s: int, status_file: Path | None = None, jt808_file: Path | None = None
) -> dict:
    from etl.feed.derive import lag as derived_lag

    with psycopg.connect(dsn) as conn:
        m1, m5, latest, lag, parts, alerts = conn.execute(_FACTS).fetchone()
        derived = derived_lag(conn)
        online = conn.execute(_ONLINE, {"s": offline_after_s}).fetchall()
        mapped, seen = conn.execute(_TERMINALS, {"s": offline_after_s}).fetchone()
    status = {
        "fixes_last_minute": m1,
        "fixes_per_s_5min": round(m5 / 300, 1),
        "latest_fix": latest.isoformat() if latest else None,
        "lag_s": None if lag is None else round(float(lag), 1),
        "partitions": parts,
        "open_geofence_alerts": alerts,
        "tracks_trips_behind": derived,  # the derived state's lag (etl/feed/derive.py)
        "vehicles": {k: {"online": on, "offline": off} for k, on, off in online},
    }
    status["jt808_terminals"] = {"mapped": mapped, "seen_recently": seen}
    if status_file and status_file.exists():
        status["feed_process"] = json.loads(status_file.read_text())
    if jt808_file and jt808_file.exists():  # connections, authenticated terminals, counters
        status["jt808_listener"] = json.loads(jt808_file.read_text())
    return status
