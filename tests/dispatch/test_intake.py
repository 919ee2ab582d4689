"""Intake: auto-dispatch on submission, the manual queue, CRS, idempotency under 20 concurrent copies."""

from __future__ import annotations

import secrets
import threading

import numpy as np
import psycopg2

from etl.chinese_crs import wgs84_to_bd09, wgs84_to_gcj02
from gis_server.auth import Role
from tests.dispatch.conftest import TOWN, auth, lonlat, run_sql


def ticket(world: str, x: float = 50, y: float = 50, **extra) -> dict:  # noqa: ANN003
    lon, lat = lonlat(world, x, y)
    return {"source": "hotline_12345", "external_id": f"12345-{secrets.token_hex(6)}",
            "category": "D9河道", "description": "河面大量漂浮垃圾",
            "location": {"lon": lon, "lat": lat, "crs": "wgs84"},
            "reporter": {"name": "王女士", "phone": "13900001111"}, "photos": [], **extra}  # fmt: skip


def test_submission_is_dispatched_by_the_duty_rule(client, world, make_key) -> None:
    r = client.post("/api/events", json=ticket(world), headers=auth(make_key(Role.REPORTER)))
    assert r.status_code == 201, r.text
    ev = r.json()
    assert (ev["status"], ev["grid_code"], ev["town_code"]) == ("dispatched", "D9-A", TOWN)
    assert (ev["department_code"], ev["department"], ev["grid_worker"]) == (
        "D9-WATER",
        "测试水利局",
        "员A",
    )
    assert (
        "D9河道 → 测试水利局" in ev["dispatch_reason"]
        and "inside grid D9-A" in ev["dispatch_reason"]
    )
    assert ev["due_at"] and ev["version"] == 1 and "reporter" not in ev and "phone" not in r.text
    actions = run_sql(world, "SELECT action, to_status FROM event_actions WHERE event_code = %s ORDER BY id",
                      (ev["code"],))  # fmt: skip
    assert actions == [("receive", "received"), ("auto_dispatch", "dispatched")]
    assert run_sql(world, "SELECT reporter_phone FROM event_contacts WHERE event_code = %s",
                   (ev["code"],)) == [("13900001111",)]  # fmt: skip


def test_no_rule_goes_to_the_manual_queue(client, world, make_key) -> None:
    r = client.post(
        "/api/events",
        json=ticket(world, category="D9无规则"),
        headers=auth(make_key(Role.REPORTER)),
    )
    assert (
        r.status_code == 201
        and r.json()["status"] == "manual"
        and r.json()["department_code"] is None
    )
    assert r.json()["dispatch_reason"].startswith("no duty rule for D9无规则 → manual queue")


def test_gcj02_bd09_grid_and_town_locations(client, world, make_key) -> None:
    key = auth(make_key(Role.REPORTER))
    lon, lat = lonlat(world, 350, 50)  # inside B
    for crs, fn in (("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)):
        x, y = fn(np.array([lon]), np.array([lat]))
        body = ticket(world, location={"lon": float(x[0]), "lat": float(y[0]), "crs": crs})
        ev = client.post("/api/events", json=body, headers=key).json()
        assert (
            ev["grid_code"] == "D9-B"
            and abs(ev["lon"] - lon) < 1e-6
            and abs(ev["lat"] - lat) < 1e-6
        )
    ev = client.post(
        "/api/events", json=ticket(world, location={"grid_code": "D9-B"}), headers=key
    ).json()
    assert ev["grid_code"] == "D9-B" and ev["grid_worker"] == "员B"
    ev = client.post("/api/events", json=ticket(world, category="D9纠纷", location={"town": "测试镇"}),
                     headers=key).json()  # fmt: skip
    assert (ev["town_code"], ev["grid_code"], ev["department_code"]) == (TOWN, None, "D9-TOWN")


def test_bad_bodies_are_400_naming_the_property(client, world, make_key) -> None:
    key = auth(make_key(Role.REPORTER))
    cases = {
        "source": {"source": "fax"},
        "category": {"category": ""},
        "location.crs": {"location": {"lon": 121, "lat": 31, "crs": "osgb"}},
        "location.lat": {"location": {"lon": 121, "lat": 95}},
        "location.grid_code": {"location": {"grid_code": "NO-SUCH"}},
        "priority": {"priority": "asap"},
        "reporter.phone": {"reporter": {"phone": 139}},
        "photos": {"photos": "x.jpg"},
    }
    for prop, change in cases.items():
        r = client.post("/api/events", json={**ticket(world), **change}, headers=key)
        assert r.status_code == 400 and r.json()["parameter"] == prop, (prop, r.text)


def test_submitting_needs_a_reporter_key(client, world, make_key) -> None:
    assert client.post("/api/events", json=ticket(world)).status_code == 401
    r = client.post("/api/events", json=ticket(world), headers=auth(make_key(Role.VIEWER)))
    assert r.status_code == 403


def test_a_resent_ticket_returns_the_same_event(client, world, make_key) -> None:
    key = auth(make_key(Role.REPORTER))
    body = ticket(world)
    first = client.post("/api/events", json=body, headers=key)
    again = client.post("/api/events", json={**body, "description": "再次来电"}, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["code"] == first.json()["code"] and again.json()["version"] == 1


def test_twenty_concurrent_copies_make_exactly_one_event(world) -> None:
    """20 threads, each on its own real connection, submit the same ticket at once."""
    from layers.dispatch import intake, locate, rules
    from layers.dispatch.timeline import Actor

    external = f"12345-{secrets.token_hex(6)}"
    barrier = threading.Barrier(20)
    results: list[tuple[str, bool]] = []
    errors: list[BaseException] = []

    def submit() -> None:
        try:
            conn = psycopg2.connect(world)
            with conn.cursor() as cur:
                place = locate.at_point(cur, *lonlat(world, 50, 50), 300)
                t = intake.Ticket(
                    "hotline_12345", external, "D9河道", place, reporter_phone="13900002222"
                )
                barrier.wait(timeout=30)
                event, created = intake.submit(cur, t, Actor("test"), rules.Policy())
            conn.commit()
            conn.close()
            results.append((event["code"], created))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == 20 and len({code for code, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    rows = run_sql(world, "SELECT count(*) FROM events WHERE source = 'hotline_12345' AND external_id = %s",
                   (external,))  # fmt: skip
    assert rows == [(1,)]
    code = results[0][0]
    assert run_sql(world, "SELECT count(*) FROM event_actions WHERE event_code = %s", (code,)) == [
        (2,)
    ]
    assert run_sql(world, "SELECT count(*) FROM event_contacts WHERE event_code = %s", (code,)) == [
        (1,)
    ]
