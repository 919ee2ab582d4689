"""A manual dispatch's due time from the chosen department's rule; 协办 shares a co-handler completes."""

from __future__ import annotations

import datetime as dt

import pytest

from layers.dispatch import errors, intake, lifecycle, locate, rules, shares
from layers.dispatch.lifecycle import Request
from layers.dispatch.timeline import Actor
from tests.dispatch.conftest import lonlat
from tests.dispatch.test_api import act, keys, submit  # noqa: F401 (the keys fixture)

DISPATCHER = Actor("disp", "dispatcher")
WATER = Actor("water", "handler", department_code="D9-WATER")
CITY = Actor("city", "handler", department_code="D9-CITY")
TOWN_OFFICE = Actor("town", "handler", department_code="D9-TOWN")
HOURS = dt.timedelta(hours=1)


@pytest.fixture()
def cur(world, db):  # noqa: ANN001, ANN201
    with db.cursor() as c:
        PLACE[:] = [locate.at_point(c, *lonlat(world, 50, 50), 300)]  # in D9-A, town 980001
        yield c


PLACE: list[locate.Place] = []


def new_event(cur, category: str, subcategory: str | None = None, priority: str = "normal") -> dict:  # noqa: ANN001
    ticket = intake.Ticket("centre", None, category, PLACE[0], subcategory=subcategory,
                           priority=priority)  # fmt: skip
    return intake.submit(cur, ticket, Actor("t"), rules.Policy())[0]


def now(cur) -> dt.datetime:  # noqa: ANN001
    cur.execute("SELECT now()")
    return cur.fetchone()[0]


def dispatch(cur, code: str, dept: str) -> dict:  # noqa: ANN001
    return lifecycle.act(cur, code, Request("dispatch", department_code=dept), DISPATCHER)


def test_redispatch_takes_the_chosen_departments_rule_from_now(cur) -> None:
    ev = new_event(cur, "D9纠纷")  # the town's rule: D9-TOWN, 48 h
    assert ev["department_code"] == "D9-TOWN" and ev["due_at"] == now(cur) + 48 * HOURS
    cur.execute("UPDATE events SET due_at = now() - interval '1 hour', overdue_at = now() "
                "WHERE code = %s", (ev["code"],))  # fmt: skip
    moved = dispatch(cur, ev["code"], "D9-CITY")  # 改派: the district rule of D9-CITY, 120 h
    assert moved["department_code"] == "D9-CITY" and moved["due_at"] == now(cur) + 120 * HOURS
    assert moved["overdue_at"] is None and not moved["overdue"]  # late again only by the new time
    assert "duty rule #" in moved["dispatch_reason"] and "120 h" in moved["dispatch_reason"]
    cur.execute("SELECT note FROM event_actions WHERE event_code = %s AND action = 'dispatch'",
                (ev["code"],))  # fmt: skip
    assert "D9纠纷 → 测试城管局" in cur.fetchone()[0]


def test_the_priority_limit_of_the_chosen_rule(cur) -> None:
    ev = new_event(cur, "D9河道", "排污", "urgent")  # D9-CITY 12 h urgent (same day)
    assert ev["department_code"] == "D9-CITY"
    moved = dispatch(cur, ev["code"], "D9-WATER")  # D9-WATER's D9河道 rule: urgent = min(24, 120)
    assert moved["due_at"] == now(cur) + 24 * HOURS


def test_a_department_without_a_rule_gets_the_categorys_limit(cur) -> None:
    ev = new_event(cur, "D9河道")
    moved = dispatch(cur, ev["code"], "D9-TOWN")
    assert moved["due_at"] == now(cur) + 120 * HOURS
    assert "no duty rule of D9-TOWN for D9河道" in moved["dispatch_reason"]


def test_no_rule_at_all_keeps_the_due_time(cur) -> None:
    ev = new_event(cur, "D9无规则")
    assert ev["status"] == "manual"
    moved = dispatch(cur, ev["code"], "D9-WATER")
    assert moved["status"] == "dispatched" and moved["due_at"] == ev["due_at"]
    assert "due time kept" in moved["dispatch_reason"]


def shared_event(cur) -> str:  # noqa: ANN001
    """Accepted by D9-WATER (the lead), D9-CITY asked to co-handle."""
    code = new_event(cur, "D9河道")["code"]
    lifecycle.act(cur, code, Request("accept"), WATER)
    lifecycle.act(cur, code, Request("cohandle", department_code="D9-CITY"), WATER)
    return code


def test_the_lead_cannot_resolve_while_a_share_is_open(cur) -> None:
    code = shared_event(cur)
    with pytest.raises(errors.TransitionRefused) as refused:
        lifecycle.act(cur, code, Request("resolve", note="已打捞"), WATER)
    assert refused.value.status == "accepted" and "resolve" not in refused.value.allowed
    assert "D9-CITY" in str(refused.value)
    ev = lifecycle.act(cur, code, Request("cohandle_done", note="排口已封堵"), CITY)
    assert ev["status"] == "accepted" and ev["version"] == 4
    [share] = shares.of_event(cur, code)
    assert share["done_by"] == "city" and share["done_note"] == "排口已封堵" and share["done_at"]
    assert lifecycle.act(cur, code, Request("resolve"), WATER)["status"] == "resolved"
    cur.execute("SELECT action, actor, department_code, note FROM event_actions "
                "WHERE event_code = %s ORDER BY id", (code,))  # fmt: skip
    rows = cur.fetchall()
    assert ("cohandle_done", "city", "D9-CITY", "排口已封堵") in rows
    assert [r[0] for r in rows][-2:] == ["cohandle_done", "resolve"]


def test_a_cohandler_acts_only_on_its_share(cur) -> None:
    code = shared_event(cur)
    ev = lifecycle.act(cur, code, Request("escalate", note="催办"), DISPATCHER)
    open_ = shares.open_departments(cur, code)
    assert lifecycle.allowed_for(CITY, ev, open_) == ["cohandle_done"]
    assert "resolve" not in lifecycle.allowed_for(WATER, ev, open_)
    assert "cohandle_done" not in lifecycle.allowed_for(WATER, ev, open_)
    for action in ("resolve", "return", "cohandle"):
        with pytest.raises(errors.NotPermitted):  # 403: not the lead department
            lifecycle.act(cur, code, Request(action, note="x"), CITY)
    with pytest.raises(errors.BadInput) as no_note:
        lifecycle.act(cur, code, Request("cohandle_done"), CITY)
    assert no_note.value.field == "note"
    with pytest.raises(errors.NotPermitted):  # never asked
        lifecycle.act(cur, code, Request("cohandle_done", note="x"), TOWN_OFFICE)
    lifecycle.act(cur, code, Request("cohandle_done", note="完成"), CITY)
    with pytest.raises(errors.TransitionRefused) as twice:  # 409: already done
        lifecycle.act(cur, code, Request("cohandle_done", note="again"), CITY)
    assert "already done" in str(twice.value)
    assert lifecycle.allowed_for(CITY, queues_event(cur, code), []) == []
    assert lifecycle.act(cur, code, Request("resolve"), WATER)["status"] == "resolved"
    with pytest.raises(errors.TransitionRefused):  # no share to work on once resolved
        lifecycle.act(cur, code, Request("cohandle_done", note="late"), CITY)


def queues_event(cur, code: str) -> dict:  # noqa: ANN001
    from layers.dispatch import queues

    return queues.event(cur, code)


def test_a_dispatcher_records_a_share_on_the_departments_behalf(cur) -> None:
    code = shared_event(cur)
    with pytest.raises(errors.BadInput) as which:
        lifecycle.act(cur, code, Request("cohandle_done", note="电话反馈"), DISPATCHER)
    assert which.value.field == "department_code"
    with pytest.raises(errors.BadInput):
        lifecycle.act(cur, code, Request("cohandle_done", note="x", department_code="D9-TOWN"),
                      DISPATCHER)  # fmt: skip
    lifecycle.act(cur, code, Request("cohandle_done", note="电话反馈", department_code="D9-CITY"),
                  DISPATCHER)  # fmt: skip
    assert shares.open_departments(cur, code) == []
    lifecycle.act(cur, code, Request("cohandle", department_code="D9-CITY"), WATER)  # asked again
    assert shares.open_departments(cur, code) == ["D9-CITY"]


def test_shares_over_http(client, world, keys) -> None:  # noqa: ANN001, F811
    code = submit(client, world, keys)["code"]  # D9河道 → D9-WATER
    assert act(client, keys, "water", code, action="accept").status_code == 200
    r = act(client, keys, "water", code, action="cohandle", department_code="D9-CITY")
    assert r.status_code == 200 and "resolve" not in r.json()["allowed_actions"]
    refused = act(client, keys, "water", code, action="resolve", note="已处理")
    assert refused.status_code == 409 and refused.json()["current_status"] == "accepted"
    assert "resolve" not in refused.json()["allowed_actions"]
    mine = client.get("/api/events?queue=mine&limit=200", headers=keys["city"]).json()
    assert code in [e["code"] for e in mine["events"]]
    seen = client.get(f"/api/events/{code}", headers=keys["city"]).json()
    assert seen["allowed_actions"] == ["cohandle_done"]
    assert act(client, keys, "city", code, action="return", note="x").status_code == 403
    assert act(client, keys, "city", code, action="cohandle_done").status_code == 400
    done = act(client, keys, "city", code, action="cohandle_done", note="已清理排口")
    assert done.status_code == 200, done.text
    assert act(client, keys, "city", code, action="cohandle_done", note="x").status_code == 409
    lead = client.get(f"/api/events/{code}", headers=keys["water"]).json()
    assert "resolve" in lead["allowed_actions"]
    [share] = lead["shares"]
    assert share["department_code"] == "D9-CITY" and share["done_note"] == "已清理排口"
    step = [s for s in lead["timeline"] if s["action"] == "cohandle_done"]
    assert step and step[0]["department_code"] == "D9-CITY" and step[0]["note"] == "已清理排口"
    assert act(client, keys, "water", code, action="resolve", note="已处理").status_code == 200
