"""GET /api/replay: every vehicle's fixes and the events of a window, bounded and thinned
per vehicle; bad parameters are 400s naming them."""

from __future__ import annotations

import datetime as dt

import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.settings import get_settings
from layers.replay import stride_for
from tests.feed.replay_data import DLON, LAT, LON, STEP_S, seed_event, seed_vehicle

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2031, 5, 8, 14, 0, tzinfo=SHANGHAI)  # no other test uses this day


@pytest.fixture(scope="module")
def client(db_dsn):
    with TestClient(create_app(get_settings()), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="module")
def seeded(demo_db):
    a = seed_vehicle(demo_db, START, fixes=7)
    b = seed_vehicle(demo_db, START + dt.timedelta(minutes=5), fixes=4)
    seed_vehicle(demo_db, START + dt.timedelta(minutes=60), fixes=2)  # from 15:00: outside
    before = seed_vehicle(demo_db, START - dt.timedelta(hours=3), fixes=3)  # outside the window
    event = seed_event(demo_db, START + dt.timedelta(minutes=30))
    late = seed_event(demo_db, START + dt.timedelta(hours=2))
    return a, b, before, event, late


def test_window_fixes_by_vehicle_and_events(client, seeded):
    a, b, before, event, late = seeded
    r = client.get("/api/replay", params={"from": "2031-05-08T14:00", "to": "2031-05-08T15:00"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body["vehicles"]) == {a, b}
    assert (body["total_fixes"], body["returned_fixes"], body["stride"]) == (11, 11, 1)
    t0 = START.timestamp()
    fixes = body["vehicles"][a]["fixes"]
    assert [f[0] for f in fixes] == [t0 + STEP_S * i for i in range(7)]
    assert fixes[2][1:3] == [pytest.approx(LON + 2 * DLON), pytest.approx(LAT)]
    assert body["vehicles"][a]["kind"] == "sanitation"
    assert [e["code"] for e in body["events"]] == [event]
    assert body["events"][0]["t"] == t0 + 1800


def test_thinned_per_vehicle_when_over_the_bound(client, seeded):
    a, b, *_ = seeded
    r = client.get(
        "/api/replay",
        params={"from": "2031-05-08T05:00Z", "to": "2031-05-08T07:00Z", "max_fixes": "7"},
    )
    body = r.json()
    assert body["total_fixes"] == 11 and body["stride"] == stride_for(11, 2, 7) == 3
    assert body["returned_fixes"] <= 7
    t0 = START.timestamp()
    # every vehicle keeps its first fix and every third after it
    assert [f[0] for f in body["vehicles"][a]["fixes"]] == [t0, t0 + 3 * STEP_S, t0 + 6 * STEP_S]
    assert [f[0] for f in body["vehicles"][b]["fixes"]] == [t0 + 300, t0 + 300 + 3 * STEP_S]


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"to": "2031-05-08T15:00"}, "from"),
        ({"from": "yesterday", "to": "2031-05-08T15:00"}, "from"),
        ({"from": "2031-05-08T15:00", "to": "2031-05-08T14:00"}, "to"),
        ({"from": "2031-05-08T00:00", "to": "2031-05-10T00:00"}, "to"),
        ({"from": "2031-05-08T14:00", "to": "2031-05-08T15:00", "max_fixes": "0"}, "max_fixes"),
        ({"from": "2031-05-08T14:00", "to": "2031-05-08T15:00", "max_fixes": "x"}, "max_fixes"),
        ({"from": "2031-05-08T14:00", "to": "2031-05-08T15:00", "bbox": "1,2,3,4"}, "bbox"),
    ],
)
def test_bad_parameters_are_named(client, params, name):
    r = client.get("/api/replay", params=params)
    assert r.status_code == 400
    assert r.json()["parameter"] == name


def test_stride_bound():
    assert stride_for(100, 3, 200) == 1
    for total, vehicles, bound in [(1000, 10, 100), (11, 2, 7), (5000, 1, 50)]:
        k = stride_for(total, vehicles, bound)
        # sum of ceil(n_v / k) <= total / k + vehicles <= bound, however the fixes fall
        assert total / k + vehicles <= bound


def test_only_the_window_partitions_are_read(demo_db, seeded):
    import re

    import psycopg

    from layers.replay import FIXES_SQL

    params = {"a": START, "b": START + dt.timedelta(hours=1), "k": 1, "n": 10}
    with psycopg.connect(demo_db) as conn:
        parts = conn.execute(
            "SELECT count(*) FROM pg_inherits WHERE inhparent = 'vehicle_positions'::regclass"
        ).fetchone()[0]
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + FIXES_SQL, params).fetchall())
    scanned = set(re.findall(r"vehicle_positions_(\d{8})", plan))
    assert parts > 2 and scanned == {"20310508"}
