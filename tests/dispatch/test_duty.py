"""Grid workers on duty (/api/duty…): positions only on duty (409 off duty, nothing stored),
the latest per worker and the day table, the dispatcher's list, the nearest workers on duty
in an event's nearby resources (phones only for handlers and above), and the `workers`
frames of /api/live only for dispatchers."""

from __future__ import annotations

import json

import psycopg
import pytest

from gis_server.auth import Role
from layers import duty
from tests.dispatch.conftest import auth, lonlat, run_sql
from tests.dispatch.test_intake import ticket

IN_DISTRICT = {"lon": 121.31, "lat": 31.96, "accuracy": 12.5}


def user_id(dsn: str, key_headers: dict, client) -> int:
    me = client.get("/api/auth/me", headers=key_headers).json()
    return run_sql(dsn, "SELECT id FROM users WHERE username = %s", (me["username"],))[0][0]


def stored(dsn: str, uid: int) -> tuple[int, int]:
    return run_sql(
        dsn,
        "SELECT (SELECT count(*) FROM worker_positions WHERE user_id = %(u)s), "
        "(SELECT count(*) FROM worker_locations WHERE user_id = %(u)s)",
        {"u": uid},
    )[0]


def test_positions_only_on_duty(client, make_key, world):
    me = auth(make_key(Role.GRID_WORKER, grids=("D9-A",)))
    uid = user_id(world, me, client)
    assert client.get("/api/duty", headers=me).json()["on_duty"] is False
    r = client.post("/api/duty/positions", json=IN_DISTRICT, headers=me)
    assert r.status_code == 409 and r.json()["code"] == "OffDuty"
    assert stored(world, uid) == (0, 0)
    assert client.post("/api/duty/end", headers=me).status_code == 409

    started = client.post("/api/duty/start", headers=me).json()
    assert started["on_duty"] is True and started["report_every_s"] == 60
    again = client.post("/api/duty/start", headers=me).json()  # already on duty: unchanged
    assert again["started_at"] == started["started_at"]
    r = client.post("/api/duty/positions", json=IN_DISTRICT, headers=me)
    assert r.status_code == 200 and r.json()["stored"] is True
    r = client.post("/api/duty/positions", json={"lon": 121.32, "lat": 31.97}, headers=me)
    assert r.status_code == 200
    assert stored(world, uid) == (2, 1)
    assert client.get("/api/duty", headers=me).json()["last_report"] is not None

    ended = client.post("/api/duty/end", headers=me).json()
    assert ended["on_duty"] is False and ended["ended_at"] >= ended["started_at"]
    r = client.post("/api/duty/positions", json=IN_DISTRICT, headers=me)
    assert r.status_code == 409
    assert stored(world, uid) == (2, 0)  # the day table keeps the duty's reports; off the map


@pytest.mark.parametrize(
    ("body", "name"),
    [
        ({"lat": 31.9}, "lon"),
        ({"lon": "121.3", "lat": 31.9}, "lon"),
        ({"lon": 121.3, "lat": 95}, "lat"),
        ({"lon": 116.4, "lat": 39.9}, "lon"),  # Beijing: outside the district
        ({"lon": 121.3, "lat": 31.9, "accuracy": -1}, "accuracy"),
        ({"lon": 10**400, "lat": 31.9}, "lon"),
        ([121.3, 31.9], "body"),
    ],
)
def test_bad_positions_name_the_property(client, make_key, body, name):
    me = auth(make_key(Role.GRID_WORKER))
    client.post("/api/duty/start", headers=me)
    r = client.post("/api/duty/positions", json=body, headers=me)
    assert r.status_code == 400, r.text
    assert name in json.dumps(r.json())
    client.post("/api/duty/end", headers=me)


def test_dispatchers_see_who_is_on_duty(client, make_key):
    me = auth(make_key(Role.GRID_WORKER))
    name = client.get("/api/auth/me", headers=me).json()["username"]
    boss = auth(make_key(Role.DISPATCHER))
    client.post("/api/duty/start", headers=me)
    client.post("/api/duty/positions", json=IN_DISTRICT, headers=me)
    assert client.get("/api/duty/workers", headers=me).status_code == 403
    body = client.get("/api/duty/workers", headers=boss).json()
    (row,) = [w for w in body["workers"] if w["username"] == name]
    assert (row["lon"], row["lat"], row["accuracy_m"]) == (121.31, 31.96, 12.5)
    client.post("/api/duty/end", headers=me)
    body = client.get("/api/duty/workers", headers=boss).json()
    assert name not in [w["username"] for w in body["workers"]]


def test_going_on_duty_prunes_positions_older_than_keep_days(client, make_key, world):
    me = auth(make_key(Role.GRID_WORKER))
    uid = user_id(world, me, client)
    client.post("/api/duty/start", headers=me)
    duty_id = run_sql(world, "SELECT id FROM worker_duties WHERE user_id = %s", (uid,))[0][0]
    run_sql(
        world,
        "INSERT INTO worker_positions (user_id, fix_time, duty_id, geom) VALUES "
        "(%s, now() - interval '31 days', %s, ST_Point(121.3, 31.9, 4326)), "
        "(%s, now() - interval '29 days', %s, ST_Point(121.3, 31.9, 4326))",
        (uid, duty_id, uid, duty_id),
    )
    client.post("/api/duty/end", headers=me)
    client.post("/api/duty/start", headers=me)  # keep_days is 30
    assert stored(world, uid) == (1, 0)
    client.post("/api/duty/end", headers=me)


def test_nearby_lists_the_nearest_workers_on_duty(client, make_key, world):
    reporter = auth(make_key(Role.REPORTER))
    r = client.post("/api/events", headers=reporter, json=ticket(world, x=50, y=50))
    assert r.status_code in (200, 201), r.text
    code = r.json()["code"]
    near, far, off = (auth(make_key(Role.GRID_WORKER, grids=("D9-A",))) for _ in range(3))
    ids = {k: user_id(world, h, client) for k, h in (("near", near), ("far", far), ("off", off))}
    with psycopg.connect(world) as conn, conn.cursor() as cur:  # D9 is outside the extent
        for k, (x, y) in (("near", (60, 50)), ("far", (350, 50)), ("off", (52, 50))):
            duty.start(cur, ids[k], 30)
            duty.report(cur, ids[k], *lonlat(world, x, y), 5.0)
        duty.end(cur, ids["off"])
    dispatcher = auth(make_key(Role.DISPATCHER))
    body = client.get(f"/api/events/{code}/nearby", headers=dispatcher).json()
    mine = [w for w in body["workers_on_duty"] if w["username"].startswith("d9-")]
    assert [w["distance_m"] // 10 for w in mine[:2]] == [1, 30]  # ~10 m, ~300 m; `off` absent
    assert mine[0]["phone"] == "13800009999"
    body = client.get(f"/api/events/{code}/nearby", headers=near).json()
    assert body["workers_on_duty"] and "phone" not in body["workers_on_duty"][0]
    with psycopg.connect(world) as conn, conn.cursor() as cur:
        for k in ("near", "far"):
            duty.end(cur, ids[k])


def test_worker_frames_reach_only_dispatchers(live_server, demo_db):
    from gis_server.auth import store
    from tests.feed.sse import SseClient

    with psycopg.connect(demo_db) as conn:
        store.add_user(conn, "duty-sse-boss", Role.DISPATCHER, "correct horse battery")
        _, key, _ = store.issue_key(conn, "duty-sse-boss", "test")
        conn.commit()
    anonymous = SseClient(f"{live_server}/api/live")
    boss = SseClient(f"{live_server}/api/live", {"Authorization": f"Bearer {key}"})
    try:
        assert anonymous.wait_for("hello")["workers"] is False
        assert boss.wait_for("hello")["workers"] is True
        with psycopg.connect(demo_db, autocommit=True) as conn:
            for body in ({"kind": "workers", "on": ["w", "W"]}, {"kind": "events", "n": "mark"}):
                conn.execute("SELECT pg_notify('onemap_live', %s)", (json.dumps(body),))
        assert boss.wait_for("workers")["on"] == ["w", "W"]
        seen = []  # every event the anonymous client got up to the marker
        while not seen or seen[-1] != ("events", '{"kind": "events", "n": "mark"}'):
            seen.append(anonymous.events.get(timeout=20))
        assert "workers" not in [name for name, _ in seen]
    finally:
        anonymous.close()
        boss.close()
        with psycopg.connect(demo_db) as conn:
            conn.execute("DELETE FROM users WHERE username = 'duty-sse-boss'")
