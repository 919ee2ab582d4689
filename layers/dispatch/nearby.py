"""Resources near an event: cameras (with stream link), vehicles and boats, the grid worker,
and the nearest grid workers on duty (layers/duty.py: their latest position, heard from
within `worker_offline_s`).

A grid worker's phone is staff contact data: the caller decides whether
the asker may see it (`with_phone`).
"""

from __future__ import annotations

from typing import Any

from layers.dispatch.rows import all_rows, one

CAMERAS_SQL = """
SELECT c.code, c.name, c.kind, c.status, c.stream_url,
       round(ST_Distance(c.geom::geography, e.geom::geography)::numeric, 1)::float8 AS distance_m
FROM events e CROSS JOIN LATERAL (
  SELECT * FROM cameras c ORDER BY c.geom <-> e.geom LIMIT %(limit)s) c
WHERE e.code = %(code)s ORDER BY distance_m
"""

VEHICLES_SQL = """
SELECT v.code, v.plate, v.kind, v.last_fix_at,
       round(ST_Distance(v.geom::geography, e.geom::geography)::numeric, 1)::float8 AS distance_m
FROM events e CROSS JOIN LATERAL (
  SELECT * FROM vehicles v WHERE v.geom IS NOT NULL ORDER BY v.geom <-> e.geom LIMIT %(limit)s) v
WHERE e.code = %(code)s ORDER BY distance_m
"""

WORKER_SQL = """
SELECT g.code AS grid_code, g.worker_name AS name, g.worker_phone AS phone
FROM events e JOIN grids g ON g.code = e.grid_code AND g.valid_to IS NULL
WHERE e.code = %(code)s
"""


ON_DUTY_SQL = """
SELECT w.username, w.name, w.fix_time AS last_report,
       round(ST_Distance(w.geom::geography, e.geom::geography)::numeric, 1)::float8 AS distance_m,
       (SELECT g.worker_phone FROM user_grids ug
        JOIN grids g ON g.code = ug.grid_code AND g.valid_to IS NULL
        WHERE ug.user_id = w.user_id AND g.worker_phone IS NOT NULL
        ORDER BY g.code LIMIT 1) AS phone
FROM events e CROSS JOIN LATERAL (
  SELECT l.user_id, l.fix_time, l.geom, u.username, coalesce(u.display_name, u.username) AS name
  FROM worker_locations l
  JOIN worker_duties d ON d.id = l.duty_id AND d.ended_at IS NULL
  JOIN users u ON u.id = l.user_id AND u.disabled_at IS NULL
  WHERE l.fix_time > now() - make_interval(secs => %(worker_offline_s)s)
  ORDER BY l.geom <-> e.geom LIMIT %(limit)s) w
WHERE e.code = %(code)s ORDER BY distance_m
"""


def around(
    cur: Any, code: str, limit: int, *, with_phone: bool, worker_offline_s: int = 300
) -> dict[str, Any]:
    params = {"code": code, "limit": limit, "worker_offline_s": worker_offline_s}
    cur.execute(CAMERAS_SQL, params)
    cameras = all_rows(cur)
    cur.execute(VEHICLES_SQL, params)
    vehicles = all_rows(cur)
    cur.execute(WORKER_SQL, params)
    worker = one(cur)
    if worker is not None and not with_phone:
        worker.pop("phone")
    cur.execute(ON_DUTY_SQL, params)
    on_duty = all_rows(cur)
    for w in on_duty if not with_phone else ():
        w.pop("phone")
    return {
        "event": code,
        "cameras": cameras,
        "vehicles": vehicles,
        "grid_worker": worker,
        "workers_on_duty": on_duty,
    }
