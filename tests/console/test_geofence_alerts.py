"""Geofence alerts on the big screen: an episode opened through the feed's ingest shows
as a marker with 闯入禁区 and a list row (vehicle, zone, since) without a reload; after
a reload it comes from /api/live/geofences; closed by the next fix, it is removed."""

from __future__ import annotations

import datetime as dt
import itertools

import psycopg
import pytest

from etl.feed.fix import Fix
from etl.feed.ingest import FeedRules, ingest

_SERIAL = itertools.count(1)


@pytest.fixture()
def muck_and_zone(console_dsn):
    """A muck truck and a forbidden zone of the test's own (removed after it)."""
    n = next(_SERIAL)
    code, zone = f"TGEO{n:03d}{id(_SERIAL) % 997}", f"FZ-TGEO{n:03d}"
    with psycopg.connect(console_dsn) as conn:
        conn.execute(
            "INSERT INTO vehicles (code, plate, kind) VALUES (%s, %s, 'muck')",
            (code, f"苏F·G{n:03d}"),
        )
        conn.execute(
            "INSERT INTO forbidden_zones (code, name, geom) VALUES (%s, '测试禁行区', "
            "ST_Multi(ST_MakeEnvelope(121.395, 31.895, 121.405, 31.905, 4326)))",
            (zone,),
        )
    yield code, zone
    with psycopg.connect(console_dsn) as conn:
        conn.execute("DELETE FROM geofence_alerts WHERE vehicle_code = %s", (code,))
        conn.execute("DELETE FROM forbidden_zones WHERE code = %s", (zone,))
        # the shared demo must look as loaded to later tests (one track per vehicle-day)
        for table in ("vehicle_derive_queue", "vehicle_trips", "vehicle_tracks", "vehicle_positions"):
            conn.execute(f"DELETE FROM {table} WHERE vehicle_code = %s", (code,))
        conn.execute("DELETE FROM vehicles WHERE code = %s", (code,))


def fix_at(conn, code: str, lon: float, seconds_ago: float) -> list[dict]:
    t = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=seconds_ago)
    return ingest(conn, [Fix(code, t, lon, 31.90, 20.0, 90.0)], FeedRules()).alerts


def rows(page) -> list[str]:
    return page.locator("#oc-geofence-list li[data-id]").all_inner_texts()


def test_episode_opened_and_closed_through_ingest_on_the_console(
    console, console_dsn, muck_and_zone
):
    code, zone = muck_and_zone
    page = console.page
    page.wait_for_function("window.onemapConsole.stats().live.connected", timeout=20_000)
    page.wait_for_function("window.OnemapConsole.geofences.loads >= 1", timeout=20_000)
    plate = f"苏F·G{code[4:7]}"
    with psycopg.connect(console_dsn) as conn:
        assert fix_at(conn, code, 121.385, 600) == []  # outside
        opened = fix_at(conn, code, 121.400, 300)  # inside: one episode opens
        assert [(a["change"], a["zone"]) for a in opened] == [("opened", zone)]
        alert_id = opened[0]["id"]
        page.wait_for_function(
            "id => window.OnemapConsole.geofences.alerts.has(id)", arg=alert_id, timeout=20_000
        )
        marker = page.locator(f".oc-geofence[data-alert='{alert_id}']")
        assert marker.count() == 1 and "闯入禁区" in marker.inner_text()
        row = [r for r in rows(page) if plate in r]
        assert len(row) == 1 and "闯入禁区" in row[0] and "测试禁行区" in row[0]
        count = int(page.locator("#oc-geofence-count").inner_text())
        assert count == page.evaluate("window.OnemapConsole.geofences.state().open") >= 1

        page.reload()  # the initial state comes from the server
        page.wait_for_function("window.OnemapConsole.geofences.loads >= 1", timeout=20_000)
        page.wait_for_function(
            "id => window.OnemapConsole.geofences.alerts.has(id)", arg=alert_id, timeout=20_000
        )
        assert page.locator(f".oc-geofence[data-alert='{alert_id}']").count() == 1
        page.wait_for_function("window.onemapConsole.stats().live.connected", timeout=20_000)

        closed = fix_at(conn, code, 121.410, 1)  # outside again: the episode closes
        assert [(a["change"], a["id"]) for a in closed] == [("closed", alert_id)]
        page.wait_for_function(
            "id => !window.OnemapConsole.geofences.alerts.has(id)", arg=alert_id, timeout=20_000
        )
    assert page.locator(f".oc-geofence[data-alert='{alert_id}']").count() == 0
    assert not [r for r in rows(page) if plate in r]
    assert console.page.evaluate("window.OnemapConsole.geofences.state().markers") == int(
        page.locator("#oc-geofence-count").inner_text()
    )


def test_open_geofences_route(console, console_dsn, muck_and_zone):
    """The read route: open episodes with the rule in Chinese; bad input is a 400 naming it."""
    code, zone = muck_and_zone
    with psycopg.connect(console_dsn) as conn:
        fix_at(conn, code, 121.400, 5)
    req = console.page.request
    body = req.get(f"{console.base}/api/live/geofences?limit=1000").json()
    mine = [a for a in body["alerts"] if a["vehicle"] == code]
    assert len(mine) == 1
    assert (mine[0]["rule"], mine[0]["label"], mine[0]["zone"], mine[0]["zone_name"]) == (
        "forbidden_zone",
        "闯入禁区",
        zone,
        "测试禁行区",
    )
    assert abs(mine[0]["lon"] - 121.400) < 1e-9 and mine[0]["fixes"] == 1
    for query, name in (
        ("limit=0", "limit"),
        ("limit=x", "limit"),
        ("limit=%C2%B2", "limit"),
        ("zone=1", "zone"),
    ):
        res = req.get(f"{console.base}/api/live/geofences?{query}")
        assert res.status == 400 and name in res.text()
