"""`onemap feed status`'s facts come from the database."""

from __future__ import annotations

import datetime as dt

from etl.feed.derive import catch_up_all
from etl.feed.fix import Fix
from etl.feed.ingest import ingest
from etl.feed.status import feed_status
from tests.feed.mqtt_helpers import RULES


def test_status_counts_a_fresh_fix(pg3, new_vehicle, db_dsn):
    code, _ = new_vehicle("sweeper")
    before = feed_status(db_dsn, 300)
    ingest(pg3, [Fix(code, dt.datetime.now(dt.UTC), 121.3, 31.95, 5.0, 0.0)], RULES)
    after = feed_status(db_dsn, 300)
    assert after["fixes_last_minute"] == before["fixes_last_minute"] + 1
    online = lambda s: s["vehicles"].get("sweeper", {}).get("online", 0)  # noqa: E731
    assert online(after) == online(before) + 1
    assert after["lag_s"] is not None and after["partitions"] >= 1


def test_status_shows_the_derived_state_behind_then_caught_up(pg3, new_vehicle, db_dsn):
    code, _ = new_vehicle()
    catch_up_all(pg3, RULES.trips)  # whatever other tests left queued
    t = dt.datetime.now(dt.UTC)
    fixes = [
        Fix(code, t - dt.timedelta(seconds=20 - 10 * i), 121.3, 31.95, 5.0, 0.0) for i in range(2)
    ]
    ingest(pg3, fixes[:1], RULES)
    ingest(pg3, fixes[1:], RULES)
    behind = feed_status(db_dsn, 300)["tracks_trips_behind"]
    assert behind["queued_vehicle_days"] >= 1 and behind["queued_fixes"] >= 2
    assert behind["queue_rows"] >= 2 and behind["lag_s"] is not None
    done = catch_up_all(pg3, RULES.trips)
    assert done.fixes >= 2 and not done.busy
    assert feed_status(db_dsn, 300)["tracks_trips_behind"]["queued_fixes"] == 0
