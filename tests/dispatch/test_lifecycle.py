"""The lifecycle: the whole loop, every forbidden transition and role, scope, versions, live notices."""

from __future__ import annotations

import json
import select
import threading

import psycopg2
import pytest

from layers.dispatch import errors, intake, lifecycle, locate, rules
from layers.dispatch.lifecycle import TRANSITIONS, Request
from layers.dispatch.timeline import Actor
from tests.dispatch.conftest import lonlat

DISPATCHER = Actor("disp", "dispatcher")
HANDLER = Actor("water", "handler", department_code="D9-WATER")
OTHER_HANDLER = Actor("city", "handler", department_code="D9-CITY")
WORKER = Actor("worker", "grid_worker", grid_codes=frozenset({"D9-A"}))
ADMIN = Actor("root", "admin")
STATES = (
    "received",
    "manual",
    "dispatched",
    "accepted",
    "returned",
    "resolved",
    "verified",
    "closed",
)
BODY = {"note": "原因", "department_code": "D9-WATER", "satisfaction": "satisfied"}


def new_event(cur, category: str = "D9河道") -> str:  # noqa: ANN001
    place = locate.at_point(cur, *PLACE, 300)
    event, _ = intake.submit(
        cur, intake.Ticket("centre", None, category, place), Actor("t"), rules.Policy()
    )
    return event["code"]


@pytest.fixture()
def cur(world, db):  # noqa: ANN001, ANN201
    global PLACE
    PLACE = lonlat(world, 50, 50)
    with db.cursor() as c:
        yield c


def force(cur, code: str, status: str) -> None:  # noqa: ANN001
    cur.execute("UPDATE events SET status = %s, closed_at = CASE WHEN %s = 'closed' THEN now() END "
                "WHERE code = %s", (status, status, code))  # fmt: skip


def test_the_whole_loop(cur) -> None:
    code = new_event(cur)
    steps = [(HANDLER, "accept", "accepted"), (HANDLER, "cohandle", "accepted"),
             (OTHER_HANDLER, "cohandle_done", "accepted"), (HANDLER, "resolve", "resolved"), (WORKER, "reopen", "accepted"),
             (HANDLER, "resolve", "resolved"), (DISPATCHER, "verify", "verified"),
             (DISPATCHER, "callback", "verified"), (DISPATCHER, "close", "closed")]  # fmt: skip
    for version, (actor, action, to) in enumerate(steps, start=1):
        body = {**BODY, "department_code": "D9-CITY"} if action == "cohandle" else BODY
        ev = lifecycle.act(cur, code, Request(action, expected_version=version, **body), actor)
        assert (ev["status"], ev["version"]) == (to, version + 1), action
    assert ev["closed_at"] and ev["verified_at"] and ev["satisfaction"] == "satisfied"
    cur.execute("SELECT action, from_status, to_status, actor FROM event_actions WHERE event_code = %s "
                "ORDER BY id", (code,))  # fmt: skip
    timeline = cur.fetchall()
    assert [a for a, *_ in timeline] == ["receive", "auto_dispatch", *(s[1] for s in steps)]
    assert timeline[-1] == ("close", "verified", "closed", "disp")


def test_return_goes_back_to_the_dispatcher_who_redispatches(cur) -> None:
    code = new_event(cur)
    with pytest.raises(errors.BadInput) as no_reason:
        lifecycle.act(cur, code, Request("return"), HANDLER)
    assert no_reason.value.field == "note"
    assert (
        lifecycle.act(cur, code, Request("return", note="不属我局职责"), HANDLER)["status"]
        == "returned"
    )
    ev = lifecycle.act(cur, code, Request("dispatch", department_code="D9-CITY"), DISPATCHER)
    assert (ev["status"], ev["department_code"], ev["department"]) == (
        "dispatched",
        "D9-CITY",
        "测试城管局",
    )
    lifecycle.act(cur, code, Request("return", note="仍不属我局"), OTHER_HANDLER)
    cur.execute(
        "SELECT e.return_count, (SELECT count(*) FROM event_actions a WHERE a.event_code = e.code "
        "AND a.action = 'return') FROM events e WHERE e.code = %(c)s",
        {"c": code},
    )
    kept, counted = cur.fetchone()
    assert kept == counted == 2  # the statistics read the kept count, not the timeline


@pytest.mark.parametrize("state", STATES)
def test_every_forbidden_transition_is_refused_with_the_allowed_ones(cur, state) -> None:  # noqa: ANN001
    code = new_event(cur)
    force(cur, code, state)
    for action in lifecycle.ACTIONS:
        if (state, action) in TRANSITIONS:
            continue
        with pytest.raises(errors.TransitionRefused) as refused:
            lifecycle.act(cur, code, Request(action, **BODY), ADMIN)
        assert refused.value.status == state
        # cohandle_done is offered only while a 协办 share is open (none here)
        expected = [a for a in lifecycle.allowed_actions(state, "admin") if a != "cohandle_done"]
        assert refused.value.allowed == expected


@pytest.mark.parametrize(("state", "action"), sorted(TRANSITIONS))
def test_every_role_not_listed_is_refused(cur, state, action) -> None:  # noqa: ANN001
    code = new_event(cur)
    force(cur, code, state)
    _, roles = TRANSITIONS[(state, action)]
    for role in ("viewer", "reporter", "grid_worker", "handler", "dispatcher", "gis_editor"):
        if role in roles:
            continue
        actor = Actor(role, role, department_code="D9-WATER", grid_codes=frozenset({"D9-A"}))
        with pytest.raises(errors.NotPermitted):
            lifecycle.act(cur, code, Request(action, **BODY), actor)


def test_handlers_and_workers_act_only_in_their_scope(cur) -> None:
    code = new_event(cur)
    with pytest.raises(errors.NotPermitted):
        lifecycle.act(cur, code, Request("accept"), OTHER_HANDLER)
    with pytest.raises(errors.NotPermitted):
        lifecycle.act(
            cur, code, Request("accept"), Actor("w2", "grid_worker", grid_codes=frozenset({"D9-B"}))
        )
    assert lifecycle.act(cur, code, Request("accept"), WORKER)["status"] == "accepted"


def test_a_stale_version_is_refused(cur) -> None:
    code = new_event(cur)
    lifecycle.act(cur, code, Request("accept", expected_version=1), HANDLER)
    with pytest.raises(errors.VersionConflict) as stale:
        lifecycle.act(cur, code, Request("resolve", expected_version=1), HANDLER)
    assert stale.value.current == 2


def test_two_concurrent_actions_cannot_both_win(world) -> None:
    conn = psycopg2.connect(world)
    with conn.cursor() as c:
        global PLACE
        PLACE = lonlat(world, 50, 50)
        code = new_event(c)
    conn.commit()
    barrier, outcomes = threading.Barrier(2), []

    def act(action: str) -> None:
        other = psycopg2.connect(world)
        try:
            with other.cursor() as c:
                barrier.wait(timeout=30)
                lifecycle.act(c, code, Request(action, note="x", expected_version=1), HANDLER)
            other.commit()
            outcomes.append("won")
        except errors.DispatchError as exc:
            outcomes.append(type(exc).__name__)
        finally:
            other.close()

    threads = [threading.Thread(target=act, args=(a,)) for a in ("accept", "return")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["VersionConflict", "won"]
    with conn.cursor() as c:
        c.execute("SELECT version FROM events WHERE code = %s", (code,))
        assert c.fetchone() == (2,)
    conn.close()


def test_each_change_notifies_the_live_channel_on_commit(world) -> None:
    listener = psycopg2.connect(world)
    listener.autocommit = True
    with listener.cursor() as c:
        c.execute("LISTEN onemap_live")
    conn = psycopg2.connect(world)
    with conn.cursor() as c:
        global PLACE
        PLACE = lonlat(world, 50, 50)
        code = new_event(c)
        lifecycle.act(c, code, Request("accept"), HANDLER)
    conn.commit()
    got: list[dict] = []
    while len(got) < 2 and select.select([listener], [], [], 10) != ([], [], []):
        listener.poll()
        got += [json.loads(n.payload) for n in listener.notifies if code in n.payload]
        listener.notifies.clear()
    conn.close()
    listener.close()
    assert [(m["status"], m["version"]) for m in got] == [("dispatched", 1), ("accepted", 2)]
    assert set(got[0]) == {
        "kind",
        "code",
        "status",
        "town_code",
        "department_code",
        "district_code",
        "lon",
        "lat",
        "version",
    }
    assert got[0]["kind"] == "event" and got[0]["department_code"] == "D9-WATER"
