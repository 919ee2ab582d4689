"""In-process CPU per request through the whole ASGI app (no network, no server).

What the database driver layer costs the Python side: each request runs through
`create_app` with Starlette's TestClient; the figure is `time.process_time` per
request, best of 5 rounds of N requests (the database's own CPU is not counted).

    DATABASE_URL=postgresql://…/a_demo_db .venv/bin/python bench/request_cpu.py [-n 50]

The database must be migrated and hold the demo data (`onemap demo load`). The tile
cache is off, so every tile request builds its tile; a gis_editor key is made for
the PATCH and removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

os.environ.setdefault("ONEMAP_OGC__TILE_CACHE_MB", "0")

import psycopg2  # noqa: E402  (the bench's own set-up, outside the app)
from starlette.testclient import TestClient  # noqa: E402

from gis_server.app import create_app  # noqa: E402
from gis_server.auth import Role, store  # noqa: E402
from gis_server.settings import get_settings  # noqa: E402

BENCH_USER = "bench_request_cpu"


def _key(dsn: str) -> str:
    with psycopg2.connect(dsn) as conn:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM users WHERE username = %s", (BENCH_USER,))
        store.add_user(conn, BENCH_USER, Role.GIS_EDITOR, "bench-Passw0rd-long")
        _, key, _ = store.issue_key(conn, BENCH_USER, "bench")
    conn.close()
    return key


def _cpu_per_request(call: Callable[[], None], n: int) -> float:
    call()  # warm: prepared statements, caches of SQL text
    best = float("inf")
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(n):
            call()
        best = min(best, (time.process_time() - t0) / n)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=50, help="requests per round")
    args = parser.parse_args()
    settings = get_settings()
    dsn = settings.database.dsn
    key = _key(dsn)
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT code FROM grids WHERE valid_to IS NULL ORDER BY code LIMIT 1")
        grid = cur.fetchone()[0]
        cur.execute("SELECT code FROM cameras ORDER BY code LIMIT 1")
        camera = cur.fetchone()[0]
        cur.execute(
            "SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) c FROM grids) s"
        )
        lon, lat = cur.fetchone()
    conn.close()
    import math

    z = 14
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    auth = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(settings)) as client:

        def get(url: str) -> Callable[[], None]:
            def call() -> None:
                r = client.get(url)
                assert r.status_code == 200, (url, r.status_code, r.text[:200])

            return call

        def patch() -> None:
            r = client.get(f"/ogc/collections/cameras/items/{camera}", headers=auth)
            r = client.patch(
                f"/ogc/collections/cameras/items/{camera}",
                json={"properties": {"name": f"bench {time.monotonic_ns()}"}},
                headers={**auth, "If-Match": r.headers["ETag"]},
            )
            assert r.status_code in (200, 204), r.text[:200]

        cases = {
            "feature-by-id (grid)": get(f"/ogc/collections/grids/items/{grid}?f=json"),
            "items page, 100 grids": get("/ogc/collections/grids/items?f=json&limit=100"),
            "z14 grid tile": get(f"/ogc/collections/grids/tiles/WebMercatorQuad/{z}/{y}/{x}"),
            "console layer body (grids)": get("/api/console/layers/grids"),
            "PATCH camera (+ its GET)": patch,
        }
        for name, call in cases.items():
            print(f"{name:32s} {_cpu_per_request(call, args.n):8.3f} ms CPU/request")
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(
            "DELETE FROM api_keys WHERE user_id IN (SELECT id FROM users WHERE username = %s)",
            (BENCH_USER,),
        )
    conn.close()


if __name__ == "__main__":
    main()
