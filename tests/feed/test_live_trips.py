"""Trips derived behind the feed (ingest() queues, derive.catch_up() derives) equal a full
rebuild after every catch-up, whether it serves one batch or several: seeded journeys of
moves, short and long stops, feed gaps, speeds missing, late fixes and midnight."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from etl.feed.derive import catch_up
from etl.feed.fix import Fix
from etl.feed.ingest import ingest
from layers.trips import rebuild_trips
from tests.feed.conftest import DAY
from tests.feed.test_ingest import RULES

LON, LAT = 121.3, 31.95


def journey(seed: int, n: int = 260) -> list[Fix]:
    """Fixes of one vehicle from 22:00 Shanghai on: moves, stops of 2–8 minutes around
    the 5-minute rule, gaps over 10 minutes, some speeds missing."""
    rng = random.Random(seed)
    t = DAY + dt.timedelta(hours=5)
    lon, lat, out = LON, LAT, []
    while len(out) < n:
        what = rng.choices(["move", "stop", "gap"], [6, 3, 2])[0]
        if what == "gap":
            t += dt.timedelta(minutes=rng.uniform(10.5, 25))
        span = dt.timedelta(minutes=rng.uniform(2, 8) if what == "stop" else rng.uniform(1, 20))
        end = t + span
        heading = rng.uniform(0, 360)
        while t < end and len(out) < n:
            t += dt.timedelta(seconds=rng.choice([10, 20, 30, 45, 60, 90]))
            t = t.replace(microsecond=rng.randrange(0, 1_000_000, 1000))
            if what == "stop":
                speed = rng.choice([0.0, 1.0, 2.5, None])
                lon += rng.uniform(-1e-6, 1e-6)
            else:
                speed = rng.choices([15.0, 25.0, 40.5, 2.0, None], [3, 3, 3, 1, 1])[0]
                step = rng.uniform(0.0, 0.0008)
                lon += step * (1 if heading < 180 else -1)
                lat += step * (1 if 90 < heading < 270 else -1) / 2
                lon, lat = min(max(lon, 121.1), 121.5), min(max(lat, 31.8), 32.1)
            out.append(Fix("", t, round(lon, 7), round(lat, 7), speed, None))
    return out


def trips_of(conn, code: str) -> list[tuple]:
    return conn.execute(
        "SELECT code, day, started_at, ended_at, fix_count, round(distance_km::numeric, 9), "
        "max_speed_kmh, ST_AsEWKT(geom) FROM vehicle_trips WHERE vehicle_code = %s "
        "ORDER BY started_at",
        (code,),
    ).fetchall()


def rebuilt(conn, code: str) -> list[tuple]:
    """What a full rebuild of every day of the vehicle gives (rolled back)."""
    days = [
        r[0]
        for r in conn.execute(
            "SELECT DISTINCT (fix_time AT TIME ZONE 'Asia/Shanghai')::date "
            "FROM vehicle_positions WHERE vehicle_code = %s",
            (code,),
        ).fetchall()
    ]
    rebuild_trips(conn, [code], days)
    rows = trips_of(conn, code)
    conn.rollback()
    return rows


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_live_trips_equal_a_full_rebuild_after_every_catch_up(pg3, new_vehicle, seed):
    code, _ = new_vehicle()
    fixes = [Fix(code, f.t, f.lon, f.lat, f.speed, f.heading) for f in journey(seed)]
    rng = random.Random(seed * 7)
    held: list[Fix] = []  # delivered late
    i, batches, modes = 0, 0, {"updated": 0, "rebuilt": 0}
    try:
        while i < len(fixes) or held:
            take = fixes[i : i + rng.choice([1, 1, 2, 3, 5, 8])]
            i += len(take)
            if take and rng.random() < 0.08:
                held.append(take.pop(0))
            if held and (rng.random() < 0.15 or i >= len(fixes)):
                take.append(held.pop(0))
            if not take:
                continue
            result = ingest(pg3, take, RULES)
            assert result.dropped.total() == 0, result.rejected
            batches += 1
            if rng.random() < 0.4 and i < len(fixes):
                continue  # the derived state behind: the next catch-up serves several batches
            done = catch_up(pg3, RULES.trips)
            assert done.vehicle_days >= 1
            modes["updated"] += done.trips_updated
            modes["rebuilt"] += done.trips_rebuilt
            live = trips_of(pg3, code)
            pg3.rollback()
            assert live == rebuilt(pg3, code), f"batch {batches}"
        assert len(trips_of(pg3, code)) >= 3
        assert modes["updated"] > modes["rebuilt"] > 0  # windows mostly, late fixes rebuilt
    finally:
        pg3.rollback()
        for table in ("vehicle_trips", "vehicle_tracks", "vehicle_positions"):
            pg3.execute(f"DELETE FROM {table} WHERE vehicle_code = %s", (code,))
        pg3.commit()


def test_live_trips_through_psycopg2_equal_a_full_rebuild(pg3, new_vehicle, db_dsn):
    """The HTTP route ingests on a psycopg2 connection: the same SQL, driver-neutral."""
    import psycopg2

    code, _ = new_vehicle()
    fixes = [Fix(code, f.t, f.lon, f.lat, f.speed, f.heading) for f in journey(4, n=90)]
    conn2 = psycopg2.connect(db_dsn)
    try:
        for i in range(0, len(fixes), 4):
            result = ingest(conn2, fixes[i : i + 4], RULES)
            assert result.dropped.total() == 0, result.rejected
            if i % 8 == 0:
                catch_up(conn2, RULES.trips)
        catch_up(conn2, RULES.trips)
        live = trips_of(pg3, code)
        pg3.rollback()
        assert live and live == rebuilt(pg3, code)
    finally:
        conn2.close()
        for table in ("vehicle_trips", "vehicle_tracks", "vehicle_positions"):
            pg3.execute(f"DELETE FROM {table} WHERE vehicle_code = %s", (code,))
        pg3.commit()
