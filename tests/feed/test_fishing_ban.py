"""禁捕区 at night: a vessel (not a patrol boat) inside a fishing-ban zone between the
configured night hours is one geofence alert per episode; by day, none."""

from __future__ import annotations

import datetime as dt
import json

import psycopg
import pytest

from etl.feed.fix import Fix
from etl.feed.ingest import FeedRules, ingest
from gis_server.live.config import feed_rules
from gis_server.settings import Settings
from layers.geofences import NightBan

BOX = "ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326))"
LAT = 32.15  # north of every demo river zone (they lie south of 32.0N)
INSIDE, OUTSIDE = 121.052, 121.040
SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NIGHT = dt.datetime(2031, 5, 6, 21, 0, tzinfo=SHANGHAI)  # 21:00 local, a day no demo data has
NOON = dt.datetime(2031, 5, 7, 12, 0, tzinfo=SHANGHAI)
RULES = FeedRules(
    extent=(121.0, 31.7, 121.6, 32.2),
    max_speed_kmh={"default": 120.0},
    night_ban=NightBan(("fishing_boat", "cargo_ship"), dt.time(20, 0), dt.time(6, 0)),
)


@pytest.fixture()
def ban_zone(pg3):
    """A 禁捕区 of the test's own, removed afterwards with its alerts."""
    code = f"FB-TEST-{id(pg3) % 100000}"
    pg3.execute(
        "INSERT INTO river_patrol_zones (code, name, river, zone_kind, geom, updated_at) "
        f"VALUES (%s, '测试禁捕区', '长江', 'fishing_ban', {BOX}, now())",
        (code, 121.045, LAT - 0.01, 121.06, LAT + 0.01),
    )
    pg3.commit()
    yield code
    pg3.rollback()
    pg3.execute("DELETE FROM geofence_alerts WHERE zone_code = %s", (code,))
    pg3.execute("DELETE FROM river_patrol_zones WHERE code = %s", (code,))
    pg3.commit()


def walk(conn, code: str, lons: list[float], start: dt.datetime, rules=RULES) -> list[dict]:
    """One fix per batch, five minutes apart; every alert change seen."""
    changes = []
    for k, lon in enumerate(lons):
        t = start + dt.timedelta(minutes=5 * k)
        changes += ingest(conn, [Fix(code, t, lon, LAT, 8.0, 90.0)], rules).alerts
    return changes


def night_episodes(conn, code: str) -> list[tuple]:
    return conn.execute(
        "SELECT zone_code, fix_count, ended_at IS NULL FROM geofence_alerts "
        "WHERE vehicle_code = %s AND rule = 'fishing_ban_night' ORDER BY started_at",
        (code,),
    ).fetchall()


def test_enter_at_night_one_alert_stay_still_one_leave_closes(pg3, new_vehicle, ban_zone, db_dsn):
    boat, _ = new_vehicle("fishing_boat")
    with psycopg.connect(db_dsn, autocommit=True) as listener:
        listener.execute("LISTEN onemap_live")
        changes = walk(pg3, boat, [OUTSIDE, INSIDE, INSIDE, INSIDE, INSIDE], NIGHT)
        assert [(c["change"], c["rule"], c["zone"]) for c in changes] == [
            ("opened", "fishing_ban_night", ban_zone)
        ]
        assert night_episodes(pg3, boat) == [(ban_zone, 4, True)]  # entered, stayed: still one
        changes = walk(pg3, boat, [OUTSIDE], NIGHT + dt.timedelta(minutes=30))
        assert [(c["change"], c["rule"]) for c in changes] == [("closed", "fishing_ban_night")]
        seen: list[dict] = []
        for note in listener.notifies(timeout=10):
            body = json.loads(note.payload)
            seen += [a for a in body.get("alerts", []) if a["vehicle"] == boat]
            if len(seen) == 2:
                break
    assert [(a["change"], a["rule"]) for a in seen] == [
        ("opened", "fishing_ban_night"),
        ("closed", "fishing_ban_night"),
    ]
    assert night_episodes(pg3, boat) == [(ban_zone, 4, False)]


def test_by_day_no_alert_and_dawn_closes_the_episode(pg3, new_vehicle, ban_zone):
    ship, _ = new_vehicle("cargo_ship")
    assert walk(pg3, ship, [INSIDE, INSIDE, INSIDE], NOON) == []
    assert night_episodes(pg3, ship) == []
    dawn = dt.datetime(2031, 5, 8, 5, 50, tzinfo=SHANGHAI)  # 05:50, 05:55, 06:00, 06:05
    changes = walk(pg3, ship, [INSIDE, INSIDE, INSIDE, INSIDE], dawn)
    assert [c["change"] for c in changes] == ["opened", "closed"]
    assert night_episodes(pg3, ship) == [(ban_zone, 2, False)]


def test_patrol_boats_and_a_switched_off_rule_raise_none(pg3, new_vehicle, ban_zone):
    patrol, _ = new_vehicle("patrol_boat")
    walk(pg3, patrol, [INSIDE, INSIDE], NIGHT)
    assert night_episodes(pg3, patrol) == []
    boat, _ = new_vehicle("fishing_boat")
    off = FeedRules(extent=RULES.extent, max_speed_kmh=RULES.max_speed_kmh, night_ban=NightBan(()))
    assert walk(pg3, boat, [INSIDE, INSIDE], NIGHT, off) == []
    assert night_episodes(pg3, boat) == []


def test_the_night_comes_from_settings() -> None:
    settings = Settings(
        feed={"geofences": {"fishing_ban_night": {"night_from": "19:30", "night_to": "05:00"}}}
    )
    night = feed_rules(settings).night_ban
    assert (night.night_from, night.night_to) == (dt.time(19, 30), dt.time(5, 0))
    assert night.kinds == ("fishing_boat", "cargo_ship") and night.timezone == "Asia/Shanghai"
    off = Settings(feed={"geofences": {"fishing_ban_night": {"enabled": False}}})
    assert feed_rules(off).night_ban.kinds == ()
    with pytest.raises(ValueError, match="time zone"):
        Settings(feed={"geofences": {"fishing_ban_night": {"timezone": "Mars/Olympus"}}})
