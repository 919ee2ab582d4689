"""The demo's dispatch loop agrees with its duty table and with the seeds' yardsticks."""

from __future__ import annotations

from etl.demo import duties
from etl.demo.catalog import CATEGORIES
from tests.dispatch.conftest import run_sql


def expected_department(category: str, sub: str, town: str) -> str:
    if category in duties.TOWN_CATEGORIES:
        return duties.town_office_code(town)
    if (category, sub) in duties.SUBCATEGORY_RULES:
        return duties.SUBCATEGORY_RULES[(category, sub)]
    return duties.BY_NAME[CATEGORIES[category][1]]


def test_every_demo_event_has_the_department_of_its_rule(demo_db) -> None:
    rows = run_sql(demo_db, "SELECT category, subcategory, town_code, department_code, count(*) FROM events "
                   "WHERE code LIKE 'HM%%' GROUP BY 1, 2, 3, 4")  # fmt: skip
    assert rows and all(dept == expected_department(c, s, t) for c, s, t, dept, _ in rows)
    missing = run_sql(demo_db, "SELECT count(*) FROM events WHERE code LIKE 'HM%%' AND (department_code IS NULL "
                      "OR dispatch_reason IS NULL OR dispatched_at IS NULL)")  # fmt: skip
    assert missing == [(0,)]


def test_rates_are_near_the_seeds(demo_db) -> None:
    on_time, closure, satisfied = run_sql(demo_db, """
        SELECT avg((closed_at <= due_at)::int) FILTER (WHERE status = 'closed'),
               avg((status = 'closed')::int) FILTER (WHERE created_at < now() - interval '30 days'),
               avg((satisfaction = 'satisfied')::int) FILTER (WHERE satisfaction IS NOT NULL)
        FROM events WHERE code LIKE 'HM%%'""")[0]  # fmt: skip
    assert 0.97 <= on_time <= 0.999 and closure >= 0.97 and 0.85 <= satisfied <= 0.97


def test_timelines_match_the_events(demo_db) -> None:
    bad = run_sql(demo_db, """
        WITH t AS (SELECT event_code, count(*) AS n,
                          (array_agg(to_status ORDER BY at DESC, id DESC))[1] AS last_status,
                          bool_and(at >= (SELECT created_at FROM events WHERE code = event_code)) AS ordered
                   FROM event_actions WHERE event_code LIKE 'HM%%' GROUP BY event_code)
        SELECT count(*) FILTER (WHERE t.event_code IS NULL),
               count(*) FILTER (WHERE e.version <> greatest(t.n - 1, 1)),
               count(*) FILTER (WHERE t.last_status <> e.status OR NOT t.ordered),
               count(*) FILTER (WHERE e.satisfaction IS NOT NULL AND (e.status <> 'closed'
                                OR e.source NOT IN ('hotline_12345', 'wechat')))
        FROM events e LEFT JOIN t ON t.event_code = e.code WHERE e.code LIKE 'HM%%'""")  # fmt: skip
    assert bad == [(0, 0, 0, 0)]
