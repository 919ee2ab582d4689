"""Auto-dispatch: the grid of a point (gap and water fallback), the most specific duty rule, due times."""

from __future__ import annotations

import datetime as dt

import pytest

from layers.dispatch import locate, rules
from tests.dispatch.conftest import TOWN, lonlat

POLICY = rules.Policy(snap_m=300, urgent_hours=24, critical_hours=4, manual_hours=120)
SH = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture()
def cur(world, db):  # noqa: ANN001, ANN201
    with db.cursor() as c:
        yield c


def test_point_inside_takes_the_comprehensive_grid_over_a_special_one(cur, world) -> None:
    place = locate.at_point(cur, *lonlat(world, 25, 50), POLICY.snap_m)  # in A and in S
    assert (place.grid_code, place.town_code, place.grid_worker) == ("D9-A", TOWN, "员A")
    assert place.how == "inside grid D9-A"


def test_point_in_a_gap_snaps_to_the_nearest_grid_within_the_distance(cur, world) -> None:
    place = locate.at_point(
        cur, *lonlat(world, 260, 50), POLICY.snap_m
    )  # 40 m west of B, 160 m east of A
    assert place.grid_code == "D9-B" and place.how.startswith("nearest grid D9-B at 4")
    assert place.town_code == TOWN


def test_point_beyond_the_snap_distance_gets_no_grid(cur, world) -> None:
    place = locate.at_point(cur, *lonlat(world, -500, 50), POLICY.snap_m)
    assert place.grid_code is None and place.grid_worker is None
    assert place.how.startswith("outside every town")
    near = locate.at_point(cur, *lonlat(world, -500, 50), 600)
    assert near.grid_code == "D9-A"  # the configured distance decides


def test_grid_code_and_town_name_give_a_point_inside(cur) -> None:
    by_grid = locate.at_grid(cur, "D9-B")
    assert (by_grid.grid_code, by_grid.town_code) == ("D9-B", TOWN)
    assert locate.at_point(cur, by_grid.lon, by_grid.lat, 0).grid_code == "D9-B"
    by_town = locate.at_town(cur, "测试镇")
    assert by_town.town_code == TOWN and by_town.grid_code is None
    assert locate.at_grid(cur, "NO-SUCH") is None and locate.at_town(cur, "无此镇") is None


@pytest.mark.parametrize(
    ("category", "sub", "town", "department"),
    [
        ("D9河道", None, TOWN, "D9-WATER"),  # category rule
        ("D9河道", "排污", TOWN, "D9-CITY"),  # the sub-category rule is more specific
        ("D9河道", "其他", TOWN, "D9-WATER"),
        ("D9纠纷", None, TOWN, "D9-TOWN"),  # the town's own office in its town
        ("D9纠纷", None, "OTHER", "D9-CITY"),  # elsewhere the district rule
    ],
)
def test_most_specific_rule_wins(cur, category, sub, town, department) -> None:  # noqa: ANN001
    rule = rules.find(cur, category, sub, town)
    assert rule is not None and rule.department_code == department
    assert department in rule.describe() or rule.department_name in rule.describe()


def test_no_rule_means_the_manual_queue(cur) -> None:
    assert rules.find(cur, "D9无规则", None, TOWN) is None
    start = dt.datetime(2026, 11, 2, 9, 0, tzinfo=SH)
    assert rules.due_at(None, "normal", start, POLICY) == start + dt.timedelta(hours=120)


def test_due_time_follows_priority_and_same_day(cur) -> None:
    plain = rules.find(cur, "D9河道", None, TOWN)
    special = rules.find(cur, "D9河道", "排污", TOWN)  # 72 h, urgent 12 h, critical 2 h, same day
    morning = dt.datetime(2026, 11, 2, 9, 0, tzinfo=SH)
    assert rules.due_at(plain, "normal", morning, POLICY) == morning + dt.timedelta(hours=120)
    assert rules.due_at(plain, "urgent", morning, POLICY) == morning + dt.timedelta(hours=24)
    assert rules.due_at(plain, "critical", morning, POLICY) == morning + dt.timedelta(hours=4)
    assert rules.due_at(special, "urgent", morning, POLICY) == morning + dt.timedelta(hours=12)
    evening = dt.datetime(2026, 11, 2, 16, 0, tzinfo=SH)  # 特事特办: by the end of the day
    assert rules.due_at(special, "urgent", evening, POLICY) == dt.datetime(
        2026, 11, 2, 23, 59, 59, tzinfo=SH
    )
    late = dt.datetime(2026, 11, 2, 22, 30, tzinfo=SH)  # but never sooner than the critical limit
    assert rules.due_at(special, "urgent", late, POLICY) == late + dt.timedelta(hours=4)


@pytest.mark.parametrize(("x", "category", "subcategory"), [
    (25, "D9河道", None), (25, "D9河道", "排污"), (260, "D9纠纷", None),  # town rule via the snap
    (-500, "D9纠纷", None), (50, "D9无规则", None), (-500, "D9河道", "排污"),
])  # fmt: skip
def test_intake_locates_and_matches_in_one_statement_as_apart(
    cur, world, x, category, subcategory
) -> None:  # noqa: ANN001
    from layers.dispatch import intake

    lon, lat = lonlat(world, x, 50)
    place, rule, now = intake.locate_and_match(cur, lon, lat, POLICY.snap_m, category, subcategory)
    apart = locate.at_point(cur, lon, lat, POLICY.snap_m)
    assert place == apart
    assert rule == rules.find(cur, category, subcategory, apart.town_code)
    cur.execute("SELECT now()")
    assert now == cur.fetchone()[0]
