"""Resources near an event: cameras (with stream link), vehicles and boats, the grid worker.

The grid worker's phone is staff contact data: the caller decides whether
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


def around(cur: Any, code: str, limit: int, *, with_phone: bool) -> dict[str, Any]:
    params = {"code": code, "limit": limit}
    cur.execute(CAMERAS_SQL, params)
    cameras = all_rows(cur)
    cur.execute(VEHICLES_SQL, params)
    vehicles = all_rows(cur)
    cur.execute(WORKER_SQL, params)
    worker = one(cur)
    if worker is not None and not with_phone:
        worker.pop("phone")
    return {"event": code, "cameras": cameras, "vehicles": vehicles, "grid_worker": worker}
