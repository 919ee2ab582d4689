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
