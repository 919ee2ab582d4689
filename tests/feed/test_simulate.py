"""`onemap feed simulate` moves the demo fleet: fixes every vehicle can have made (no
impossible speed), stored through a real feed, vehicles moved forward."""

from __future__ import annotations

import psycopg

from etl.feed.simulate import load_walkers, simulate
from tests.feed.brokers import wait_until
from tests.feed.mqtt_helpers import make_feed, new_topic, started


def test_walker_stays_on_its_path_and_turns_back(demo_db):
    (w,) = load_walkers(demo_db, limit=1)
    total = float(w.cum[-1])
    seen = []
    for _ in range(2000):
        lon, lat, heading, kmh = w.step(30.0)
        assert 0.0 <= w.at_m <= total and 0 <= heading < 360
        seen.append(w.forward)
    assert len(set(seen)) == 2  # it turned at an end


def test_simulated_fleet_is_stored_without_drops(demo_db, broker_url):
    walkers = load_walkers(demo_db, limit=4)
    assert len(walkers) == 4
    codes = [w.code for w in walkers]
    with psycopg.connect(demo_db) as conn:
        before = dict(
            conn.execute(
                "SELECT code, last_fix_at FROM vehicles WHERE code = ANY(%s)", (codes,)
            ).fetchall()
        )
    topic = new_topic()
    feed = started(make_feed(demo_db, broker_url, topic))
    try:
        sent = simulate(
            demo_db, broker_url, topic, interval_s=0.2, rounds=3, limit=4, log=lambda line: None
        )
        assert sent == 12
        wait_until(lambda: feed.stats.acked == 12, what="12 fixes acked")
    finally:
        feed.stop()
    assert feed.stats.counts["stored"] == 12
    assert feed.stats.counts["impossible_speed"] == 0
    with psycopg.connect(demo_db) as conn:
        after = dict(
            conn.execute(
                "SELECT code, last_fix_at FROM vehicles WHERE code = ANY(%s)", (codes,)
            ).fetchall()
        )
    assert all(before[c] is None or after[c] > before[c] for c in codes)
