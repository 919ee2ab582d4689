"""Geofence episodes: one alert per episode, opened by the first breaking fix, closed
by the first fix that no longer breaks the rule."""

from __future__ import annotations

import datetime as dt
import json

import psycopg

from etl.feed.fix import Fix
from etl.feed.ingest import ingest
from tests.feed.conftest import DAY
from tests.feed.mqtt_helpers import RULES

BOX = "ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 4326))"


def episodes(conn, code: str) -> list[tuple]:
    return conn.execute(
        "SELECT rule, zone_code, fix_count, ended_at IS NULL FROM geofence_alerts "
        "WHERE vehicle_code = %s ORDER BY started_at",
        (code,),
    ).fetchall()


def walk(conn, code: str, lons: list[float], lat: float = 31.90, start_min: int = 0) -> list:
    """One fix per batch, a minute apart; returns every alert change seen."""
    changes = []
    for k, lon in enumerate(lons):
        t = DAY + dt.timedelta(minutes=start_min + k)
        changes += ingest(conn, [Fix(code, t, lon, lat, 10.0, 90.0)], RULES).alerts
    return changes


def test_muck_truck_in_forbidden_zone_one_alert_per_episode(pg3, new_vehicle, db_dsn):
    muck, _ = new_vehicle("muck")
    sweeper, _ = new_vehicle("sweeper")
    zone = f"FZ-{muck}"
    pg3.execute(
        f"INSERT INTO forbidden_zones (code, name, geom) VALUES (%s, '禁行区', {BOX})",
        (zone, 121.395, 31.895, 121.405, 31.905),
    )
    pg3.commit()
    path = [121.385, 121.390, 121.398, 121.400, 121.402, 121.410, 121.401]  # out, in×3, out, in
    changes = walk(pg3, muck, path)
    assert [(c["change"], c["rule"], c["zone"]) for c in changes] == [
        ("opened", "forbidden_zone", zone),
        ("closed", "forbidden_zone", zone),
        ("opened", "forbidden_zone", zone),
    ]
    assert episodes(pg3, muck) == [
        ("forbidden_zone", zone, 3, False),
        ("forbidden_zone", zone, 1, True),
    ]
    walk(pg3, sweeper, path)  # the zone forbids muck trucks only
    assert episodes(pg3, sweeper) == []


def test_boat_leaving_patrol_zone_and_alerts_on_the_live_channel(pg3, new_vehicle, db_dsn):
    boat, _ = new_vehicle("patrol_boat")
    pg3.execute(
        "INSERT INTO river_patrol_zones (code, name, river, zone_kind, geom, updated_at) "
        f"VALUES (%s, '测试巡河段', '长江', 'patrol', {BOX}, now())",
        (f"PZ-{boat}", 121.30, 31.85, 121.35, 31.95),
    )
    pg3.commit()
    with psycopg.connect(db_dsn, autocommit=True) as listener:
        listener.execute("LISTEN onemap_live")
        walk(pg3, boat, [121.345, 121.348, 121.352, 121.355, 121.349])  # in, in, out, out, in
        alerts: list[dict] = []
        for note in listener.notifies(timeout=10):
            body = json.loads(note.payload)
            alerts += body["alerts"] if body["kind"] == "geofence" else []
            if len(alerts) == 2:
                break
    assert episodes(pg3, boat) == [("left_patrol_zone", "", 2, False)]
    assert [(a["change"], a["vehicle"]) for a in alerts] == [("opened", boat), ("closed", boat)]
