"""The derive step behind the feed: the Deriver thread and `onemap feed derive` bring the
queued vehicle-days' tracks and trips up to a full rebuild's, and empty the queue."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psycopg

from etl.feed.derive import Deriver
from etl.feed.ingest import ingest
from layers.tracks import rebuild_tracks
from layers.trips import rebuild_trips
from tests.feed.test_ingest import RULES, fix

QUEUED = "SELECT count(*) FROM vehicle_derive_queue WHERE vehicle_code = %s"
TRACK = "SELECT fix_count, ST_AsEWKT(geom) FROM vehicle_tracks WHERE vehicle_code = %s"
TRIPS = (
    "SELECT started_at, ended_at, fix_count, ST_AsEWKT(geom) FROM vehicle_trips "
    "WHERE vehicle_code = %s ORDER BY started_at"
)


def derived(dsn: str, code: str) -> tuple[list, list]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(TRACK, (code,)).fetchall(), conn.execute(TRIPS, (code,)).fetchall()


def rebuilt(dsn: str, code: str) -> tuple[list, list]:
    """A full rebuild of the vehicle's day, rolled back."""
    with psycopg.connect(dsn) as conn:
        rebuild_tracks(conn, [code])
        day = conn.execute(
            "SELECT day FROM vehicle_tracks WHERE vehicle_code = %s", (code,)
        ).fetchone()[0]
        rebuild_trips(conn, [code], [day])
        out = conn.execute(TRACK, (code,)).fetchall(), conn.execute(TRIPS, (code,)).fetchall()
        conn.rollback()
    return out


def wait_empty(dsn: str, code: str, seconds: float = 60.0) -> int:
    deadline = time.monotonic() + seconds
    with psycopg.connect(dsn, autocommit=True) as conn:
        while (n := conn.execute(QUEUED, (code,)).fetchone()[0]) and time.monotonic() < deadline:
            time.sleep(0.1)
    return n


def test_the_deriver_thread_catches_up_to_a_full_rebuild(pg3, new_vehicle, db_dsn):
    code, _ = new_vehicle()
    deriver = Deriver(db_dsn, RULES.trips, 0.2, psycopg.connect).start()
    try:
        for minute in range(0, 12, 2):
            ingest(pg3, [fix(code, minute, 0.001 * minute)], RULES)
        ingest(pg3, [fix(code, 5, 0.005)], RULES)  # late
        assert wait_empty(db_dsn, code) == 0
    finally:
        deriver.stop()
    assert deriver.failures == 0 and deriver.stats.fixes >= 7
    track, trips = derived(db_dsn, code)
    assert track[0][0] == 7 and trips
    assert (track, trips) == rebuilt(db_dsn, code)


def test_onemap_feed_derive_catches_up(pg3, new_vehicle, db_dsn):
    code, _ = new_vehicle()
    ingest(pg3, [fix(code, 0), fix(code, 1, 0.001), fix(code, 2, 0.002)], RULES)
    assert derived(db_dsn, code) == ([], [])
    out = subprocess.run(
        [sys.executable, "-m", "gis_server.cli", "feed", "derive"],
        env=dict(os.environ, DATABASE_URL=db_dsn),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "caught up" in out.stdout
    assert wait_empty(db_dsn, code, 0) == 0
    track, trips = derived(db_dsn, code)
    assert track[0][0] == 3 and (track, trips) == rebuilt(db_dsn, code)
