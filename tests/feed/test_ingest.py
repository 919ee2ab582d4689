"""ingest(): checks, duplicates, late fixes, CRS, latest positions, NOTIFY; the tracks
derived behind it (etl/feed/derive.py) equal a full rebuild, and a crash between the
two steps loses nothing."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import psycopg2

from etl.chinese_crs import wgs84_to_gcj02
from etl.feed.derive import catch_up, catch_up_all
from etl.feed.fix import Fix
from etl.feed.ingest import FeedRules, ingest
from layers.tracks import rebuild_tracks
from tests.feed.conftest import DAY

RULES = FeedRules(extent=(121.0, 31.7, 121.6, 32.2), max_speed_kmh={"default": 120.0})
LON, LAT = 121.3, 31.95


def fix(code: str, minute: float, dlon: float = 0.0, **kw) -> Fix:
    t = DAY + dt.timedelta(minutes=minute)
    return Fix(code, t, LON + dlon, LAT, kw.pop("speed", 20.0), kw.pop("heading", 90.0), **kw)


def stored(conn, code: str) -> list[tuple]:
    return conn.execute(
        "SELECT fix_time, round(ST_X(geom)::numeric, 7), round(ST_Y(geom)::numeric, 7) "
        "FROM vehicle_positions WHERE vehicle_code = %s ORDER BY fix_time",
        (code,),
    ).fetchall()


def test_stores_and_moves_vehicle_by_code_or_plate(pg3, new_vehicle):
    code, plate = new_vehicle()
    result = ingest(pg3, [fix(code, 0), fix(plate, 1, 0.001)], RULES)
    assert result.counts()["stored"] == 2 and result.moved == 1
    assert len(stored(pg3, code)) == 2
    last = pg3.execute(
        "SELECT last_fix_at, ST_X(geom), speed_kmh, heading FROM vehicles WHERE code = %s",
        (code,),
    ).fetchone()
    assert last[0] == DAY + dt.timedelta(minutes=1)
    assert abs(last[1] - (LON + 0.001)) < 1e-9 and last[2] == 20.0 and last[3] == 90.0


def test_checks_drop_with_reasons(pg3, new_vehicle):
    code, _ = new_vehicle()
    batch = [
        fix(code, 0),
        Fix(code, DAY + dt.timedelta(minutes=1), 200.0, LAT),  # invalid lon
        fix(code, 2, dlon=1.0),  # out of the extent (122.3)
        fix("NO-SUCH-VEHICLE", 3),
        fix(code, 0),  # duplicate in the batch
        fix(code, 4, dlon=0.2),  # ~19 km in 4 minutes: impossible
        fix(code, 5, dlon=0.002),
    ]
    result = ingest(pg3, batch, RULES)
    assert [(i, reason) for i, reason, _ in result.rejected] == [
        (1, "invalid"),
        (2, "out_of_extent"),
        (3, "unknown_vehicle"),
        (4, "duplicate"),
        (5, "impossible_speed"),
    ]
    assert result.stored == 2
    again = ingest(pg3, [fix(code, 5, dlon=0.002)], RULES)  # re-delivery: stored once
    assert again.stored == 0 and again.dropped["duplicate"] == 1
    assert len(stored(pg3, code)) == 2


def test_speed_judged_against_stored_previous_fix(pg3, new_vehicle):
    code, _ = new_vehicle()
    ingest(pg3, [fix(code, 0)], RULES)
    result = ingest(pg3, [fix(code, 1, dlon=0.1)], RULES)  # 9.5 km in a minute
    assert result.dropped["impossible_speed"] == 1 and result.stored == 0


def test_gcj02_and_bd09_become_wgs84(pg3, new_vehicle):
    code, _ = new_vehicle()
    glon, glat = wgs84_to_gcj02(LON, LAT)
    result = ingest(pg3, [Fix(code, DAY, float(glon), float(glat), crs="gcj02")], RULES)
    assert result.stored == 1
    (_, x, y) = stored(pg3, code)[0]
    assert abs(float(x) - LON) < 1e-7 and abs(float(y) - LAT) < 1e-7
    assert abs(float(glon) - LON) > 1e-3  # the shift was real


def test_late_fix_lands_in_place_and_does_not_move_vehicle_back(pg3, new_vehicle):
    code, _ = new_vehicle()
    ingest(pg3, [fix(code, 0), fix(code, 10, 0.004)], RULES)
    late = ingest(pg3, [fix(code, 5, 0.002)], RULES)
    assert late.stored == 1 and late.moved == 0 and late.queued == 1
    assert [r[0].minute for r in stored(pg3, code)] == [0, 5, 10]
    (last,) = pg3.execute("SELECT last_fix_at FROM vehicles WHERE code = %s", (code,)).fetchone()
    assert last == DAY + dt.timedelta(minutes=10)


def _track(dsn: str, code: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT day, started_at, ended_at, fix_count, distance_km, ST_AsEWKT(geom) "
            "FROM vehicle_tracks WHERE vehicle_code = %s ORDER BY day",
            (code,),
        ).fetchall()


def test_incremental_tracks_equal_full_rebuild(pg3, new_vehicle, db_dsn):
    code, _ = new_vehicle()
    ingest(pg3, [fix(code, 0)], RULES)  # a one-fix day first (its point twice)
    catch_up_all(pg3, RULES.trips)
    assert [t[3] for t in _track(db_dsn, code)] == [1]
    ingest(pg3, [fix(code, 2, 0.001)], RULES)
    ingest(pg3, [fix(code, 4, 0.002)], RULES)
    catch_up_all(pg3, RULES.trips)  # two batches appended in one go
    ingest(pg3, [fix(code, 3, 0.0015)], RULES)  # late: rebuilds that vehicle-day
    catch_up_all(pg3, RULES.trips)
    ingest(pg3, [fix(code, 6, 0.003), fix(code, 60 * 24, 0.003)], RULES)  # and the next day
    assert [t[3] for t in _track(db_dsn, code)] == [4]  # behind until caught up
    catch_up_all(pg3, RULES.trips)
    incremental = _track(db_dsn, code)
    assert [t[3] for t in incremental] == [5, 1]
    with psycopg2.connect(db_dsn) as conn:
        rebuild_tracks(conn, [code])
    assert _track(db_dsn, code) == incremental


def test_one_notify_per_batch_under_8000_bytes(pg3, new_vehicle, db_dsn):
    codes = [new_vehicle()[0] for _ in range(3)]
    with psycopg.connect(db_dsn, autocommit=True) as listener:
        listener.execute("LISTEN onemap_live")
        result = ingest(pg3, [fix(c, 0, 0.001 * i) for i, c in enumerate(codes)], RULES)
        note = next(listener.notifies(timeout=5, stop_after=1))
    body = json.loads(note.payload)
    assert result.notifications == 1 and body["kind"] == "vehicles"
    assert sorted(f[0] for f in body["fixes"]) == sorted(codes)
    assert body["fixes"][0][5] == DAY.timestamp()


def test_chunks_stay_under_notify_limit():
    from etl.feed.notify import MAX_PAYLOAD, chunks

    items = [[f"V{i:06d}", 121.123456, 31.123456, 12.5, 270.0, 1.9e9] for i in range(1000)]
    out = chunks("vehicles", "fixes", items)
    assert len(out) > 1 and all(len(p.encode()) <= MAX_PAYLOAD for p in out)
    assert [f for p in out for f in json.loads(p)["fixes"]] == items


def test_database_error_mid_batch_rolls_back_everything(pg3, new_vehicle, db_dsn):
    """Fixes are inserted before the derive queue: a failure there must leave no fix."""
    import pytest

    code, _ = new_vehicle()
    with psycopg.connect(db_dsn) as blocker:
        blocker.execute("LOCK TABLE vehicle_derive_queue IN ACCESS EXCLUSIVE MODE")
        pg3.execute("SET lock_timeout = '200ms'")
        pg3.commit()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            ingest(pg3, [fix(code, 0), fix(code, 1, 0.001)], RULES)
    assert stored(pg3, code) == []
    assert pg3.execute("SELECT last_fix_at FROM vehicles WHERE code = %s", (code,)).fetchone() == (
        None,
    )
    assert ingest(pg3, [fix(code, 0), fix(code, 1, 0.001)], RULES).stored == 2


def test_ingest_does_not_wait_for_tracks_or_trips(pg3, new_vehicle, db_dsn):
    """The acknowledgement path writes no track or trip: with both tables locked by
    another transaction, a batch still commits (and its tracks follow once free)."""
    code, _ = new_vehicle()
    pg3.execute("SET lock_timeout = '2s'")
    pg3.commit()
    with psycopg.connect(db_dsn) as blocker:
        blocker.execute("LOCK TABLE vehicle_tracks, vehicle_trips IN ACCESS EXCLUSIVE MODE")
        assert ingest(pg3, [fix(code, 0), fix(code, 1, 0.001)], RULES).stored == 2
    catch_up_all(pg3, RULES.trips)
    assert [t[3] for t in _track(db_dsn, code)] == [2]


def test_a_crash_between_the_steps_loses_nothing(pg3, new_vehicle, db_dsn):
    """A catch-up that fails (here: its tables locked) leaves the queue as it was; the
    next one derives the same tracks as a full rebuild."""
    import pytest

    code, _ = new_vehicle()
    catch_up_all(pg3, RULES.trips)
    ingest(pg3, [fix(code, 0), fix(code, 1, 0.001)], RULES)
    ingest(pg3, [fix(code, 2, 0.002)], RULES)
    queued = "SELECT count(*) FROM vehicle_derive_queue WHERE vehicle_code = %s"
    assert pg3.execute(queued, (code,)).fetchone() == (2,)
    pg3.rollback()
    with psycopg.connect(db_dsn) as blocker:
        blocker.execute("LOCK TABLE vehicle_tracks IN ACCESS EXCLUSIVE MODE")
        pg3.execute("SET lock_timeout = '200ms'")
        pg3.commit()
        with pytest.raises(psycopg.errors.LockNotAvailable):
            catch_up(pg3, RULES.trips)
    assert pg3.execute(queued, (code,)).fetchone() == (2,)
    assert _track(db_dsn, code) == []
    pg3.rollback()
    catch_up_all(pg3, RULES.trips)
    assert pg3.execute(queued, (code,)).fetchone() == (0,)
    pg3.rollback()
    derived = _track(db_dsn, code)
    assert [t[3] for t in derived] == [3]
    with psycopg2.connect(db_dsn) as conn:
        rebuild_tracks(conn, [code])
    assert _track(db_dsn, code) == derived
