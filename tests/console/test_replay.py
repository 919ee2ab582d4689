"""Fleet replay (全局回放) in headless Chromium: open the replay, load a window, seek and
play — the vehicles' markers are where their fixes put them at the replay time, and
an event appears once its time has come."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.feed.replay_data import DLON, LAT, LON, STEP_S, seed_event, seed_vehicle

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
START = dt.datetime(2031, 5, 7, 14, 0, tzinfo=SHANGHAI)  # no other test uses this day


def where(page, code):
    return page.evaluate("code => window.onemapConsole.replay.where(code)", code)


def test_fleet_replay_places_vehicles_and_events_in_time(console, console_dsn):
    a = seed_vehicle(console_dsn, START, fixes=7)
    late = seed_vehicle(console_dsn, START + dt.timedelta(minutes=30), fixes=2)
    seed_event(console_dsn, START + dt.timedelta(minutes=20))
    page = console.page

    page.click("#oc-replay-open")
    assert page.is_visible("#oc-replay")
    default_from = page.input_value("#oc-replay-from")
    assert default_from.endswith("T14:00") and page.input_value("#oc-replay-to").endswith("T15:00")
    page.fill("#oc-replay-from", "2031-05-07T14:00")
    page.fill("#oc-replay-to", "2031-05-07T15:00")
    page.click("#oc-replay-load")
    page.wait_for_function("window.onemapConsole.stats().replay.loaded", timeout=20_000)
    state = console.stats()["replay"]
    assert state["vehicles"] == 2 and state["shown"] == 1 and state["events"] == 0
    assert where(page, late) is None  # its first fix is at 14:30

    # 14:03 is half-way between the fixes of 14:02 and 14:04
    t0 = START.timestamp()
    page.evaluate(f"window.onemapConsole.replay.seekTime({t0 + 1.5 * STEP_S})")
    at = where(page, a)
    assert at["lng"] == pytest.approx(LON + 1.5 * DLON, abs=1e-6)
    assert at["lat"] == pytest.approx(LAT, abs=1e-6)
    assert console.stats()["replay"]["events"] == 0

    # play at 600x: ten replay minutes a second; wait until the replay passed 14:30:30
    page.select_option("#oc-replay-speed", "600")
    page.click("#oc-replay-play")
    page.wait_for_function(f"window.onemapConsole.stats().replay.t > {t0 + 1830}", timeout=20_000)
    page.click("#oc-replay-play")  # pause
    state = console.stats()["replay"]
    assert not state["playing"] and state["shown"] == 2 and state["events"] == 1
    t = state["t"]
    assert where(page, a)["lng"] == pytest.approx(LON + 6 * DLON, abs=1e-6)  # its last fix
    moved = min(1.0, (t - t0 - 1800) / STEP_S)  # late: 14:30 → 14:32, then held
    assert where(page, late)["lng"] == pytest.approx(LON + DLON * moved, abs=1e-6)
    # the live vehicles are off the map while replaying, back after closing
    assert "vehicles" not in console.stats()["on"]
    page.click("#oc-replay-close")
    assert "vehicles" in console.stats()["on"]
    assert console.errors() == [] and console.foreign_requests() == []
