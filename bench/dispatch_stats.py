"""Statistics for a year by town and by department: the rollup against the events, timed.

    DATABASE_URL=postgresql://…/a_demo_db .venv/bin/python bench/dispatch_stats.py [--write]

Median of 7 of `layers.dispatch.stats.by` (what /api/dispatch/stats runs) for the 366 local
days ending with the newest event, for the city and for one district (`district.code`), read from `event_stats_daily` (migration 0013) and from
the events (`rollup=False`, the covering index of 0011), plus the database's own
EXPLAIN ANALYZE execution time of each. Checks that both give the same rows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import time

import psycopg

from gis_server.settings import get_settings
from layers.dispatch import stats
from layers.dispatch.stats import LOCAL

try:  # run as a script (bench/ on sys.path) or as a module
    from results import write_section
except ImportError:  # pragma: no cover
    from bench.results import write_section


def _explain_ms(cur: psycopg.Cursor, query: str, params: dict) -> float:
    cur.execute("SET LOCAL jit = off")
    cur.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + query, params)
    return round(cur.fetchone()[0][0]["Execution Time"], 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true")
    args = ap.parse_args()
    out: dict[str, object] = {}
    with psycopg.connect(get_settings().database.dsn, cursor_factory=psycopg.ClientCursor) as conn:
        cur = conn.cursor()
        cur.execute(
            "SELECT (max(created_at) AT TIME ZONE 'Asia/Shanghai')::date, count(*) FROM events"
        )
        last, n = cur.fetchone()
        end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), LOCAL)
        start = end - dt.timedelta(days=366)
        # planner statistics as autovacuum leaves them (a fresh demo's rollup has none yet,
        # and a district's rows estimated at 1 sort to disk: 4x slower)
        cur.execute("ANALYZE event_stats_daily")
        cur.execute("SELECT count(*) FROM event_stats_daily")
        out["events"], out["rollup_rows"] = n, cur.fetchone()[0]
        district = get_settings().district.code
        out["district"] = district
        for group, scope in (("town", None), ("department", None), ("town", district)):
            for rollup in (True, False):
                times = []
                for _ in range(7):
                    t0 = time.perf_counter()
                    rows = stats.by(cur, group, start, end, rollup=rollup, district=scope)
                    times.append((time.perf_counter() - t0) * 1000)
                    conn.rollback()
                label = group if scope is None else f"{group}_district"
                name = f"{label}_{'rollup' if rollup else 'events'}"
                out[name + "_ms"] = round(statistics.median(times), 1)
                out[name + "_rows"] = len(rows)
                p = {"start": start.date(), "end": end.date(), "district": scope}
                if rollup:
                    sql = stats.ROLLUP_SQL if scope is None else stats.DISTRICT_ROLLUP_SQL
                    q = sql.format(key=stats.ROLLUP_GROUPS[group])
                else:
                    where = "true" if scope is None else "e.district_code = %(district)s"
                    q = stats.STATS_SQL.format(key=stats.GROUPS[group], district=where)
                    p = {"start": start, "end": end, "district": scope}
                out[name + "_explain_ms"] = _explain_ms(cur, q, p)
                conn.rollback()
            same = stats.by(cur, group, start, end, district=scope) == stats.by(
                cur, group, start, end, rollup=False, district=scope
            )
            out[f"{label}_same"] = same
            conn.rollback()
    out["load"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(out))
    if args.write:
        write_section("dispatch_stats", _markdown(out))


def _markdown(r: dict) -> str:
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    names = {
        "town": "by town",
        "department": "by department",
        "town_district": f"district {r['district']} by town",
    }
    rows = "\n".join(
        f"| {names[g]}, {src} | {r[f'{g}_{src}_ms']} ms | {r[f'{g}_{src}_explain_ms']} ms | {r[f'{g}_{src}_rows']} |"
        for g in names for src in ("rollup", "events"))  # fmt: skip
    return f"""# Dispatch statistics for a year (bench/dispatch_stats.py)

{r["events"]:,} events, {r["rollup_rows"]:,} rollup rows (day × town × department × district); {when},
load average {r["load"]} on the shared 2-CPU machine. Median of 7 of `stats.by` (what
`/api/dispatch/stats` runs) and the database's EXPLAIN ANALYZE execution time. Same rows from
both: by town {r["town_same"]}, by department {r["department_same"]}, one district by town
{r["town_district_same"]} (the rollup's district_code, migration 0016; the demo holds one
district, so its figures cover every event: the events path's worst case). Target < 200 ms.

| query | stats.by | EXPLAIN ANALYZE | groups |
|---|---|---|---|
{rows}
"""


if __name__ == "__main__":
    main()
