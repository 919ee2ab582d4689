"""In-process CPU and database round trips per intake (POST /api/events), no network.

The honest figures on a shared machine: the server's own Python CPU per intake
(`time.process_time`, which counts every thread of this process: the event loop and
the thread pool, not PostgreSQL) and the statements it sends, counted by wrapping
psycopg's cursor `execute` and connection `commit` (psycopg 3 sends a BEGIN before
the first statement of each transaction: one more round trip per transaction).

    DATABASE_URL=postgresql://…/a_demo_db .venv/bin/python bench/intake_cpu.py [-n 200] [--write]

New tickets and re-sent ones are measured apart (best of 5 rounds of n). A reporter
key is made for the run; the run's events and the user are removed afterwards.
Runs against any checkout on PYTHONPATH (before/after comparisons).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time

import psycopg
import psycopg2
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.auth import Role, store
from gis_server.settings import get_settings

try:  # run as a script (bench/ on sys.path) or as a module
    from results import write_section
except ImportError:  # pragma: no cover
    from bench.results import write_section

BENCH_USER = "bench_intake_cpu"
COUNTS = {"execute": 0, "commit": 0}


def _count_statements() -> None:
    execute, commit = psycopg.ClientCursor.execute, psycopg.Connection.commit

    def counted_execute(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        COUNTS["execute"] += 1
        return execute(self, *a, **k)

    def counted_commit(self, *a, **k):  # noqa: ANN001, ANN002, ANN003, ANN202
        COUNTS["commit"] += 1
        return commit(self, *a, **k)

    psycopg.ClientCursor.execute = counted_execute
    psycopg.Connection.commit = counted_commit


def _setup(dsn: str) -> tuple[str, list[tuple[float, float]]]:
    with psycopg2.connect(dsn) as conn:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM users WHERE username = %s", (BENCH_USER,))
        store.add_user(conn, BENCH_USER, Role.REPORTER, "bench-Passw0rd-long")
        _, key, _ = store.issue_key(conn, BENCH_USER, "bench")
        with conn.cursor() as cur:
            cur.execute("SELECT setseed(0.14)")
            cur.execute(
                "SELECT ST_X(p), ST_Y(p) FROM (SELECT (ST_Dump(ST_GeneratePoints(geom, 1))).geom AS p "
                "FROM grids WHERE valid_to IS NULL AND grid_type = 'comprehensive' "
                "ORDER BY random() LIMIT 200) s"
            )
            points = cur.fetchall()
    conn.close()
    return key, points


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200, help="intakes per round")
    ap.add_argument("--label", default="", help="what code this is (for the printed line)")
    ap.add_argument("--write", action="store_true", help="put the figures in bench/RESULTS.md")
    args = ap.parse_args()
    settings = get_settings()
    dsn = settings.database.dsn
    key, points = _setup(dsn)
    prefix = f"cpu-{secrets.token_hex(3)}"
    auth = {"Authorization": f"Bearer {key}"}
    categories = ["河道污染", "环境卫生", "市政设施", "占道经营", "噪音扰民", "安全隐患"]
    _count_statements()
    seq = iter(range(10**9))
    out: dict[str, object] = {"label": args.label}
    try:
        with TestClient(create_app(settings)) as client:
            cache = getattr(client.app.state, "key_cache", None)
            if cache is not None:  # the cache serves only while its listener runs
                cache.listening.wait(10)

            def post(ext: str) -> int:
                i = next(seq)
                lon, lat = points[i % len(points)]
                body = {"source": "hotline_12345", "external_id": ext, "category": categories[i % 6],
                        "description": "bench", "location": {"lon": lon, "lat": lat, "crs": "wgs84"},
                        "reporter": {"name": "测试", "phone": "13000000000"}}  # fmt: skip
                r = client.post("/api/events", json=body, headers=auth)
                assert r.status_code in (200, 201), r.text[:300]
                return r.status_code

            sent: list[str] = []
            for kind in ("new", "resent"):
                best, stmts = float("inf"), 0.0
                for rnd in range(6):  # round 0 warms up
                    exts = [f"{prefix}-{len(sent) + j}" for j in range(args.n)] if kind == "new" \
                        else [sent[(rnd * 37 + j) % len(sent)] for j in range(args.n)]  # fmt: skip
                    before = dict(COUNTS)
                    t0 = time.process_time()
                    codes = [post(x) for x in exts]
                    cpu = (time.process_time() - t0) / args.n
                    assert set(codes) == ({201} if kind == "new" else {200}), set(codes)
                    if kind == "new":
                        sent += exts
                    if rnd:
                        best = min(best, cpu)
                        stmts = (COUNTS["execute"] - before["execute"]) / args.n
                        commits = (COUNTS["commit"] - before["commit"]) / args.n
                out[kind] = {"cpu_ms": round(best * 1000, 2), "statements": round(stmts, 2),
                             "commits": round(commits, 2)}  # fmt: skip
    finally:
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("DELETE FROM events WHERE external_id LIKE %s", (prefix + "-%",))
            cur.execute("DELETE FROM users WHERE username = %s", (BENCH_USER,))
        conn.close()
    out["load"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(out, ensure_ascii=False))
    if args.write:
        write_section("dispatch_cpu", _markdown(out))


def _markdown(r: dict) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    n, s = r["new"], r["resent"]
    return f"""# Dispatch intake: server CPU and statements per intake (bench/intake_cpu.py)

In-process through the whole ASGI app ({when}, load {r["load"]}); best of 5 rounds.

| intake | Python CPU | statements | commits |
|---|---|---|---|
| new ticket | {n["cpu_ms"]} ms | {n["statements"]} | {n["commits"]} |
| re-sent ticket | {s["cpu_ms"]} ms | {s["statements"]} | {s["commits"]} |
"""


if __name__ == "__main__":
    main()
