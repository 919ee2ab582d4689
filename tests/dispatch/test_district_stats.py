"""District statistics from the daily rollup (migration 0016): `stats.by(…, district=)` of
whole days reads event_stats_daily, and equals counting the events after every kind of
change — intake, actions, bulk updates, a delete, a town moving to another district;
0016 goes down to 0015 and up again with no drift."""

from __future__ import annotations

import secrets

import psycopg2
from alembic import command

from layers.migrate import _config, schema_drift, upgrade
from tests.dispatch.conftest import TOWN, lonlat
from tests.dispatch.test_stats import _year

HOME = "320614"
OTHER = "320612"


def _changes(cur, world: str) -> list[str]:  # noqa: ANN001
    from layers.dispatch import intake, lifecycle, locate, rules
    from layers.dispatch.lifecycle import Request
    from layers.dispatch.timeline import Actor

    place = locate.at_point(cur, *lonlat(world, 50, 50), 300)
    codes = [intake.submit(cur, intake.Ticket("centre", None, c, place), Actor("t"),
                           rules.Policy())[0]["code"]
             for c in ("D9河道", "D9河道", "D9纠纷", "D9无规则", "D9河道")]  # fmt: skip
    water = Actor("w", "handler", department_code="D9-WATER")
    disp = Actor("d", "dispatcher")
    lifecycle.act(cur, codes[0], Request("return", note="不归我"), water)
    lifecycle.act(cur, codes[0], Request("dispatch", department_code="D9-CITY"), disp)
    for action in ("accept", "resolve"):
        lifecycle.act(cur, codes[1], Request(action), water)
    for req in (Request("verify"), Request("callback", satisfaction="basic"), Request("close")):
        lifecycle.act(cur, codes[1], req, disp)
    cur.execute(
        "UPDATE events SET status = 'closed', closed_at = due_at + interval '1 h' WHERE code = %s",
        (codes[2],),
    )
    cur.execute("DELETE FROM events WHERE code = %s", (codes[3],))
    return codes


def _check(cur, world: str, districts) -> None:  # noqa: ANN001
    from layers.dispatch import stats

    start, end = _year(world)
    for district in districts:
        for group in ("town", "department", "day"):
            fast = stats.by(cur, group, start, end, district=district)
            slow = stats.by(cur, group, start, end, rollup=False, district=district)
            assert fast == slow, (district, group)


def test_district_rollup_equals_the_events_after_every_kind_of_change(world) -> None:  # noqa: ANN001
    from layers.dispatch import stats

    conn = psycopg2.connect(world)
    try:
        with conn.cursor() as cur:
            codes = _changes(cur, world)
            _check(cur, world, (HOME, OTHER, None))
            # the D9 town becomes another district's: its events' figures move along
            cur.execute("UPDATE towns SET district_code = %s WHERE code = %s", (OTHER, TOWN))
            lifecycle_codes = [c for c in codes if c != codes[3]]
            cur.execute(
                "SELECT count(*) FROM events WHERE code = ANY(%s) AND district_code = %s",
                (lifecycle_codes, OTHER),
            )
            assert cur.fetchone()[0] == len(lifecycle_codes)
            start, end = _year(world)
            other = stats.by(cur, "day", start, end, district=OTHER)
            assert sum(r["received"] for r in other) >= len(lifecycle_codes)
            _check(cur, world, (HOME, OTHER, None))
            # and back, with an action in between
            from layers.dispatch import lifecycle
            from layers.dispatch.lifecycle import Request
            from layers.dispatch.timeline import Actor

            lifecycle.act(cur, codes[4], Request("dispatch", department_code="D9-CITY"),
                          Actor("d", "dispatcher"))  # fmt: skip
            cur.execute("UPDATE towns SET district_code = %s WHERE code = %s", (HOME, TOWN))
            _check(cur, world, (HOME, OTHER, None))
            assert stats.by(cur, "day", start, end, district=OTHER) == []
            cur.execute(
                "EXPLAIN " + stats.DISTRICT_ROLLUP_SQL.format(key="s.town_code"),
                {"start": start.date(), "end": end.date(), "district": HOME},
            )
            assert "event_stats_daily" in " ".join(r[0] for r in cur.fetchall())
    finally:
        conn.rollback()
        conn.close()


def _rollup(cur) -> list[tuple]:  # noqa: ANN001
    cur.execute(
        "SELECT day, town_code, sum(received), sum(closed) FROM event_stats_daily "
        "GROUP BY 1, 2 HAVING sum(received) <> 0 ORDER BY 1, 2"
    )
    return cur.fetchall()


def _counted(cur) -> list[tuple]:  # noqa: ANN001
    cur.execute(
        "SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date, town_code, count(*), "
        "count(*) FILTER (WHERE status = 'closed') FROM events GROUP BY 1, 2 ORDER BY 1, 2"
    )
    return cur.fetchall()


def test_0016_down_to_0015_and_up_again(server_dsn) -> None:  # noqa: ANN001
    name = f"onemap_test_{secrets.token_hex(4)}"
    admin = psycopg2.connect(server_dsn)
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    dsn = server_dsn.rsplit("/", 1)[0] + f"/{name}"
    url = dsn.replace("postgresql://", "postgresql+psycopg2://", 1)
    try:
        conn = psycopg2.connect(dsn)
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("CREATE EXTENSION IF NOT EXISTS postgis")
        upgrade(url, "0015", district_code=HOME)
        square = "ST_Multi(ST_Expand(ST_SetSRID(ST_Point(121.2, 31.9), 4326), 0.01))"
        for town, district in (("T-H", HOME), ("T-O", OTHER)):
            cur.execute(
                "INSERT INTO towns (code, name, kind, district_code, geom, updated_at) "
                f"VALUES (%s, %s, 'town', %s, {square}, now())",
                (town, town, district),
            )

        def event(code: str, town: str, days_ago: int, closed: bool) -> None:
            cur.execute(
                "INSERT INTO events (code, title, source, category, town_code, created_at, "
                "status, closed_at, geom) VALUES (%s, 't', 'centre', 'c', %s, "
                "now() - %s * interval '1 day', %s, "
                "CASE WHEN %s THEN now() END, ST_SetSRID(ST_Point(121.2, 31.9), 4326))",
                (code, town, days_ago, "closed" if closed else "received", closed),
            )

        for i in range(6):
            event(f"E-{i}", ("T-H", "T-O")[i % 2], i % 3, i % 4 == 0)
        upgrade(url, "head", district_code=HOME)
        assert schema_drift(url) == []
        cur.execute(
            "SELECT district_code, sum(received) FROM event_stats_daily GROUP BY 1 ORDER BY 1"
        )
        assert cur.fetchall() == [(OTHER, 3), (HOME, 3)]
        assert _rollup(cur) == _counted(cur)

        command.downgrade(_config(url), "0015")
        cur.execute(
            "SELECT count(*) FROM information_schema.columns "
            "WHERE table_name = 'event_stats_daily' AND column_name = 'district_code'"
        )
        assert cur.fetchone()[0] == 0
        event("E-down", "T-O", 1, False)  # the triggers of 0013 work again
        cur.execute("UPDATE events SET status = 'closed', closed_at = now() WHERE code = 'E-1'")
        assert _rollup(cur) == _counted(cur)

        upgrade(url, "head", district_code=HOME)
        assert schema_drift(url) == []
        assert _rollup(cur) == _counted(cur)
        cur.execute(
            "SELECT district_code, sum(received) FROM event_stats_daily GROUP BY 1 ORDER BY 1"
        )
        assert cur.fetchall() == [(OTHER, 4), (HOME, 3)]
        conn.close()
    finally:
        with admin.cursor() as c:
            c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                "AND pid <> pg_backend_pid()",
                (name,),
            )
            c.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()
