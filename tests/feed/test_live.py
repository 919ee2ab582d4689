"""GET /api/live on a real `onemap serve`: a fix published on MQTT arrives over SSE;
dispatch's NOTIFYs pass through; the OGC vehicles collection serves the latest fix."""

from __future__ import annotations

import datetime as dt
import json

import httpx
import psycopg
import pytest

from tests.feed.conftest import DAY
from tests.feed.mqtt_helpers import make_feed, new_topic, publisher, started
from tests.feed.sse import SseClient


@pytest.fixture(scope="module")
def server(db_dsn):
    from tests.helpers import onemap_serve

    with onemap_serve({"DATABASE_URL": db_dsn}, "feed_live_server.log") as (base, _port):
        yield base


@pytest.fixture()
def sse(server):
    client = SseClient(f"{server}/api/live")
    try:
        client.wait_for("hello")
        yield client
    finally:
        client.close()


def test_fix_published_on_mqtt_arrives_over_sse(server, sse, db_dsn, broker_url, new_vehicle):
    code, _ = new_vehicle()
    topic = new_topic()
    feed = started(make_feed(db_dsn, broker_url, topic))
    t = DAY + dt.timedelta(hours=1)
    try:
        with publisher(broker_url) as pub:
            pub.send(
                f"{topic}/{code}",
                {"t": t.isoformat(), "lon": 121.31, "lat": 31.96, "speed": 22.5, "heading": 45},
            )
        body = sse.wait_for("vehicles", lambda b: any(f[0] == code for f in b["fixes"]))
    finally:
        feed.stop()
    (fix,) = [f for f in body["fixes"] if f[0] == code]
    assert fix == [code, 121.31, 31.96, 22.5, 45.0, t.timestamp()]


def test_dispatch_events_pass_through(sse, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_notify('onemap_live', %s)",
            (
                json.dumps(
                    {"kind": "events", "events": [{"code": "E-TEST-1", "status": "assigned"}]}
                ),
            ),
        )
    body = sse.wait_for("events")
    assert body["events"][0]["code"] == "E-TEST-1"


def test_stream_headers(server):
    with httpx.Client(timeout=10) as c, c.stream("GET", f"{server}/api/live") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-cache"


def test_listen_reconnects_after_its_connection_dies(sse, db_dsn):
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        killed = conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = 'onemap-live' AND datname = current_database()"
        ).fetchone()[0]
        assert killed >= 1
        sse.wait_for("resync")

        def seen(body: dict) -> bool:
            return body.get("n") == 2

        # the hub is listening again once a NOTIFY gets through; re-send until one does
        for _attempt in range(200):
            conn.execute(
                "SELECT pg_notify('onemap_live', %s)", (json.dumps({"kind": "events", "n": 2}),)
            )
            try:
                sse.wait_for("events", seen, timeout=0.25)
                break
            except AssertionError:
                continue
        else:
            raise AssertionError("no event after the LISTEN connection came back")


def test_slow_client_is_dropped_others_served():
    from gis_server.live.stream import QUEUE_FRAMES, LiveHub

    async def scenario() -> tuple[int, int, bool]:
        hub = LiveHub("postgresql://unused")
        slow, fast = hub.subscribe(), hub.subscribe()
        got = 0
        for i in range(QUEUE_FRAMES + 5):
            hub.publish(f"frame {i}".encode())
            while not fast.empty():
                await fast.get()
                got += 1
        return got, hub.dropped, slow not in hub.clients

    from tests.helpers import run_async  # the session browser's loop may be running

    got, dropped, slow_gone = run_async(scenario())
    assert got == QUEUE_FRAMES + 5 and dropped == 1 and slow_gone


def test_ogc_vehicles_collection_serves_the_latest_fix(server, db_dsn, new_vehicle):
    from etl.feed.fix import Fix
    from etl.feed.ingest import ingest
    from tests.feed.mqtt_helpers import RULES

    code, _ = new_vehicle()
    t = DAY + dt.timedelta(hours=2)
    with psycopg.connect(db_dsn) as conn:
        ingest(conn, [Fix(code, t, 121.32, 31.97, 33.0, 180.0)], RULES)
        ingest(conn, [Fix(code, t - dt.timedelta(minutes=5), 121.31, 31.97, 5.0, 0.0)], RULES)
    r = httpx.get(f"{server}/ogc/collections/vehicles/items", params={"code": code, "f": "json"})
    assert r.status_code == 200, r.text
    (feature,) = r.json()["features"]
    assert feature["geometry"]["coordinates"] == [121.32, 31.97]
    props = feature["properties"]
    assert props["speed_kmh"] == 33.0 and props["heading"] == 180.0
    assert dt.datetime.fromisoformat(props["last_fix_at"].replace("Z", "+00:00")) == t
