"""The console's vehicles move live: a fix published on MQTT moves the marker in headless
Chromium without polling, and the fleet figures count the vehicle online."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest

from tests.feed.brokers import Mosquitto, answers
from tests.feed.mqtt_helpers import make_feed, new_topic, publisher, started


@pytest.fixture(scope="module")
def broker_url():
    if answers(1883):
        yield "mqtt://127.0.0.1:1883"
        return
    with tempfile.TemporaryDirectory() as d:
        broker = Mosquitto(Path(d)).start()
        try:
            yield broker.url
        finally:
            broker.stop()


def test_mqtt_fix_moves_marker_and_counts_online(console, console_dsn, sql, broker_url):
    page = console.page
    page.wait_for_function("window.onemapConsole.stats().live.connected", timeout=20_000)
    code = sql(
        "SELECT code FROM vehicles WHERE geom IS NOT NULL AND kind = 'sanitation' "
        "AND last_fix_at < now() - interval '10 minutes' ORDER BY code LIMIT 1"
    )
    lon, lat = (
        sql("SELECT ST_X(geom) FROM vehicles WHERE code = %s", (code,)),
        sql("SELECT ST_Y(geom) FROM vehicles WHERE code = %s", (code,)),
    )
    online_before = page.evaluate(
        "(window.onemapConsole.stats().fleet.sanitation || {online: 0}).online"
    )
    refreshes = console.stats()["vehicleRefreshes"]
    topic = new_topic()
    feed = started(make_feed(console_dsn, broker_url, topic))
    try:
        with publisher(broker_url) as pub:
            now = dt.datetime.now(dt.UTC).isoformat()
            pub.send(f"{topic}/{code}", {"t": now, "lon": lon + 0.003, "lat": lat, "heading": 90})
        page.wait_for_function(
            "([code, lon]) => { const m = window.OnemapConsole.vehicles.markers[code];"
            " return m && Math.abs(m.getLatLng().lng - lon) < 1e-6; }",
            arg=[code, lon + 0.003],
            timeout=20_000,
        )
    finally:
        feed.stop()
    stats = console.stats()
    assert stats["live"]["fixes"] >= 1
    assert stats["vehicleRefreshes"] == refreshes  # moved by the stream, not by a poll
    assert stats["fleet"]["sanitation"]["online"] == online_before + 1
    offline = page.evaluate(
        "code => window.OnemapConsole.vehicles.markers[code].getElement()"
        ".classList.contains('oc-veh-offline')",
        code,
    )
    assert offline is False
    assert page.locator("#oc-fleet-table tbody tr").count() >= 1
