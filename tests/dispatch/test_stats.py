"""Statistics per town and department, checked against counts computed independently in SQL."""

from __future__ import annotations

import pytest

from gis_server.auth import Role
from tests.dispatch.conftest import auth, run_sql

PERIOD = "created_at >= (%(f)s::date)::timestamp AT TIME ZONE 'Asia/Shanghai' AND created_at < ((%(t)s::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')"


@pytest.fixture(scope="module")
def period(demo_db):  # noqa: ANN001, ANN201
    last = run_sql(demo_db, "SELECT (max(created_at) AT TIME ZONE 'Asia/Shanghai')::date FROM events "
                   "WHERE code LIKE 'HM%%'")[0][0]  # fmt: skip
    return {"f": (last.replace(day=1)).isoformat(), "t": last.isoformat()}


@pytest.mark.parametrize(
    ("group", "column"),
    [
        ("town", "town_code"),
        ("department", "department_code"),
        ("day", "to_char(created_at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD')"),
    ],
)
def test_figures_match_independent_sql(client, demo_db, make_key, period, group, column) -> None:
    r = client.get("/api/dispatch/stats", params={"by": group, "from": period["f"], "to": period["t"]},
                   headers=auth(make_key(Role.DISPATCHER)))  # fmt: skip
    assert r.status_code == 200, r.text
    rows = {row["key"]: row for row in r.json()["rows"]}
    truth = run_sql(demo_db, f"""
        SELECT {column}, count(*), count(*) FILTER (WHERE status = 'closed'),
               count(*) FILTER (WHERE status = 'closed' AND closed_at <= due_at),
               count(*) FILTER (WHERE satisfaction IN ('satisfied', 'basic')),
               count(*) FILTER (WHERE satisfaction IS NOT NULL),
               count(*) FILTER (WHERE dispatch_reason LIKE 'duty rule%%'),
               coalesce(sum((SELECT count(*) FROM event_actions a
                             WHERE a.event_code = e.code AND a.action = 'return')), 0)
        FROM events e WHERE {PERIOD} GROUP BY 1""", period)  # fmt: skip
    assert len(truth) > 3 and set(rows) == {t[0] for t in truth}
    for key, received, closed, on_time, happy, called, auto, returns in truth:
        row = rows[key]
        assert (row["received"], row["closed"]) == (received, closed)
        assert (row["auto_dispatched"], row["returns"]) == (auto, returns)
        assert row["on_time_rate"] == pytest.approx(on_time / closed if closed else None, abs=5e-5)
        assert row["closure_rate"] == pytest.approx(closed / received, abs=5e-5)
        assert row["satisfaction_rate"] == pytest.approx(
            happy / called if called else None, abs=5e-5
        )


def test_stats_need_a_dispatcher_and_good_parameters(client, make_key) -> None:
    assert (
        client.get(
            "/api/dispatch/stats", headers=auth(make_key(Role.HANDLER, department="D9-WATER"))
        ).status_code
        == 403
    )
    key = auth(make_key(Role.DISPATCHER))
    for params, name in (({"by": "planet"}, "by"), ({"from": "yesterday"}, "from"),
                         ({"from": "2026-11-30", "to": "2026-11-01"}, "from")):  # fmt: skip
        r = client.get("/api/dispatch/stats", params=params, headers=key)
        assert r.status_code == 400 and r.json()["parameter"] == name


def _year(demo_db: str):  # noqa: ANN202
    import datetime as dt

    from layers.dispatch.stats import LOCAL

    last = run_sql(
        demo_db, "SELECT (max(created_at) AT TIME ZONE 'Asia/Shanghai')::date FROM events"
    )[0][0]
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), LOCAL)
    return end - dt.timedelta(days=366), end


@pytest.mark.parametrize("group", ["town", "department", "day"])
def test_the_rollup_equals_the_events_after_every_kind_of_change(world, group) -> None:
    """Intake, actions, a bulk update, a delete: the trigger-kept rollup answers as the events do."""
    import psycopg2

    from layers.dispatch import intake, lifecycle, locate, rules, stats
    from layers.dispatch.lifecycle import Request
    from layers.dispatch.timeline import Actor
    from tests.dispatch.conftest import lonlat

    conn = psycopg2.connect(world)
    try:
        with conn.cursor() as cur:
            place = locate.at_point(cur, *lonlat(world, 50, 50), 300)
            codes = [intake.submit(cur, intake.Ticket("centre", None, c, place), Actor("t"),
                                   rules.Policy())[0]["code"]
                     for c in ("D9河道", "D9河道", "D9纠纷", "D9无规则")]  # fmt: skip
            water, disp = (
                Actor("w", "handler", department_code="D9-WATER"),
                Actor("d", "dispatcher"),
            )
            lifecycle.act(cur, codes[0], Request("return", note="不归我"), water)
            lifecycle.act(cur, codes[0], Request("dispatch", department_code="D9-CITY"), disp)
            for action in ("accept", "resolve"):
                lifecycle.act(cur, codes[1], Request(action), water)
            for req in (
                Request("verify"),
                Request("callback", satisfaction="basic"),
                Request("close"),
            ):
                lifecycle.act(cur, codes[1], req, disp)
            cur.execute(
                "UPDATE events SET photos = photos WHERE code = ANY(%s)", (codes,)
            )  # no figure moves
            cur.execute("UPDATE events SET status = 'closed', closed_at = due_at + interval '1 h' "
                        "WHERE code = %s", (codes[2],))  # fmt: skip
            cur.execute("DELETE FROM events WHERE code = %s", (codes[3],))
            start, end = _year(world)
            fast = stats.by(cur, group, start, end)
            slow = stats.by(cur, group, start, end, rollup=False)
            assert fast == slow and len(fast) > 1
            cur.execute("EXPLAIN " + stats.ROLLUP_SQL.format(key="s.town_code"),
                        {"start": start.date(), "end": end.date()})  # fmt: skip
            assert "event_stats_daily" in " ".join(r[0] for r in cur.fetchall())
    finally:
        conn.rollback()
        conn.close()
