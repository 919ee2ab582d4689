"""The MQTT feed against a real Mosquitto: ingest, bad payloads, duplicates, late and
GCJ-02 fixes, acknowledgement only after commit, reconnect after a broker restart."""

from __future__ import annotations

import datetime as dt

import psycopg

from etl.chinese_crs import wgs84_to_gcj02
from tests.feed.brokers import wait_until
from tests.feed.conftest import DAY
from tests.feed.mqtt_helpers import make_feed, new_topic, publisher, started

LON, LAT = 121.3, 31.95


def at(minute: float) -> str:
    return (DAY + dt.timedelta(minutes=minute)).isoformat()


def payload(vehicle: str, minute: float, dlon: float = 0.0, **kw) -> dict:
    return {"vehicle": vehicle, "t": at(minute), "lon": LON + dlon, "lat": LAT, "speed": 18, **kw}


def count(dsn: str, code: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute(
            "SELECT count(*) FROM vehicle_positions WHERE vehicle_code = %s", (code,)
        ).fetchone()[0]


def test_mqtt_payloads_stored_bad_ones_counted_and_acked(db_dsn, broker_url, new_vehicle):
    (a, _), (b, plate_b), (c, _) = new_vehicle(), new_vehicle(), new_vehicle()
    topic = new_topic()
    feed = started(make_feed(db_dsn, broker_url, topic))
    try:
        with publisher(broker_url) as pub:
            pub.send(f"{topic}/x", payload(a, 0))
            pub.send(f"{topic}/x", [payload(plate_b, 0), payload(b, 1, 0.001), {"lon": "east"}])
            glon, glat = wgs84_to_gcj02(LON, LAT)
            pub.send(
                f"{topic}/{c}",
                {"t": 1_936_000_000_000, "lon": float(glon), "lat": float(glat), "crs": "gcj02"},
            )
            pub.send(f"{topic}/x", b"{not json", raw=True)
        wait_until(lambda: feed.stats.acked == 4, what="4 messages acked")
    finally:
        feed.stop()
    assert (count(db_dsn, a), count(db_dsn, b), count(db_dsn, c)) == (1, 2, 1)
    assert feed.stats.bad_payloads == 2
    with psycopg.connect(db_dsn) as conn:
        x, y = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM vehicles WHERE code = %s", (c,)
        ).fetchone()
    assert abs(x - LON) < 1e-7 and abs(y - LAT) < 1e-7


def test_mqtt_duplicates_once_and_late_fix_in_place(db_dsn, broker_url, new_vehicle):
    code, _ = new_vehicle()
    topic = new_topic()
    feed = started(make_feed(db_dsn, broker_url, topic))
    try:
        with publisher(broker_url) as pub:
            for p in (payload(code, 10, 0.002), payload(code, 10, 0.002), payload(code, 5, 0.001)):
                pub.send(f"{topic}/v", p)
        wait_until(lambda: feed.stats.acked == 3, what="3 messages acked")
    finally:
        feed.stop()
    assert count(db_dsn, code) == 2
    assert feed.stats.counts["duplicate"] == 1
    with psycopg.connect(db_dsn) as conn:
        (last,) = conn.execute(
            "SELECT last_fix_at FROM vehicles WHERE code = %s", (code,)
        ).fetchone()
    assert last == DAY + dt.timedelta(minutes=10)


def test_ack_only_after_commit_nothing_lost_stored_once(db_dsn, broker_url, new_vehicle):
    """The database refuses (a lock, with a lock timeout): the feed acks nothing and
    retries; stopped then, its unacked messages come back to the next feed of the same
    session, and every fix is stored exactly once."""
    code, _ = new_vehicle()
    topic = new_topic()
    client_id = f"onemap-test-ack-{code}"

    def refusing(dsn):
        conn = psycopg.connect(dsn)
        conn.execute("SET lock_timeout = '100ms'")
        conn.commit()
        return conn

    first = make_feed(db_dsn, broker_url, topic, client_id=client_id)
    first.connect_db = refusing
    started(first)
    blocker = psycopg.connect(db_dsn)
    blocker.execute("LOCK TABLE vehicles IN ACCESS EXCLUSIVE MODE")
    with publisher(broker_url) as pub:
        for m in range(20):
            pub.send(f"{topic}/v", payload(code, m, 0.0005 * m))
        wait_until(lambda: first.stats.db_failures >= 2, what="the feed to retry")
        assert first.stats.acked == 0
        first.stop()
        blocker.rollback()  # the database accepts again
        blocker.close()
        assert count(db_dsn, code) == 0
        second = started(make_feed(db_dsn, broker_url, topic, client_id=client_id))
        try:
            wait_until(lambda: count(db_dsn, code) == 20, what="all 20 fixes stored")
            pub.send(f"{topic}/v", payload(code, 19, 0.0005 * 19))  # and one re-sent
            wait_until(lambda: second.stats.counts["duplicate"] >= 1, what="the re-send seen")
        finally:
            second.stop()
    assert count(db_dsn, code) == 20
    assert second.stats.acked == 21


def test_reconnects_after_broker_restart(db_dsn, private_broker, new_vehicle):
    code, _ = new_vehicle()
    topic = new_topic()
    feed = started(make_feed(db_dsn, private_broker.url, topic))
    try:
        with publisher(private_broker.url) as pub:
            pub.send(f"{topic}/v", payload(code, 0))
        wait_until(lambda: count(db_dsn, code) == 1, what="first fix")
        private_broker.stop()
        private_broker.start()
        wait_until(lambda: feed.stats.connects >= 2, what="the feed to reconnect")
        with publisher(private_broker.url) as pub:
            pub.send(f"{topic}/v", payload(code, 1, 0.001))
        wait_until(lambda: count(db_dsn, code) == 2, what="a fix after the restart")
    finally:
        feed.stop()


def test_database_connection_killed_mid_feed_nothing_lost_none_twice(
    db_dsn, broker_url, new_vehicle
):
    code, _ = new_vehicle()
    topic = new_topic()
    feed = started(make_feed(db_dsn, broker_url, topic))
    try:
        with publisher(broker_url) as pub, psycopg.connect(db_dsn, autocommit=True) as admin:
            for m in range(60):
                pub.send(f"{topic}/v", payload(code, m, 0.0005 * m))
                if m in (20, 40):
                    wait_until(lambda: feed._conn is not None, what="the feed's connection")
                    admin.execute(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE application_name = 'onemap-feed' AND datname = current_database()"
                    )
            wait_until(lambda: count(db_dsn, code) == 60, what="all 60 fixes stored")
            wait_until(lambda: feed.stats.acked == 60, what="all 60 acked")
    finally:
        feed.stop()
    assert count(db_dsn, code) == 60


def test_unacked_messages_survive_a_broker_restart(db_dsn, private_broker, new_vehicle):
    """The database refuses while the broker restarts: the broker's persistent session
    keeps the unacked messages, the feed gets them again and stores each once."""
    code, _ = new_vehicle()
    topic = new_topic()
    feed = make_feed(db_dsn, private_broker.url, topic, session_expiry_s=600)

    def refusing(dsn):
        conn = psycopg.connect(dsn)
        conn.execute("SET lock_timeout = '100ms'")
        conn.commit()
        return conn

    feed.connect_db = refusing
    started(feed)
    blocker = psycopg.connect(db_dsn)
    blocker.execute("LOCK TABLE vehicles IN ACCESS EXCLUSIVE MODE")
    try:
        with publisher(private_broker.url) as pub:
            for m in range(10):
                pub.send(f"{topic}/v", payload(code, m, 0.0005 * m))
        wait_until(lambda: feed.stats.db_failures >= 1, what="the feed to retry")
        private_broker.stop()
        private_broker.start()
        wait_until(lambda: feed.stats.connects >= 2, what="the feed to reconnect")
        blocker.rollback()
        wait_until(lambda: count(db_dsn, code) == 10, what="the 10 fixes stored")
        wait_until(lambda: feed.stats.acked == 10, what="the redelivered 10 acked")
    finally:
        blocker.close()
        feed.stop()
    assert count(db_dsn, code) == 10


def test_unacked_messages_bounded_while_the_database_is_blocked(db_dsn, broker_url, new_vehicle):
    """Mosquitto 2.0.11 does not honour Receive Maximum: the feed itself stops reading
    the socket when `buffer_messages` are unacknowledged, so its memory stays bounded
    while the database refuses; afterwards every message arrives and is stored once."""
    code, _ = new_vehicle()
    topic = new_topic()
    bound, sent = 40, 400

    def refusing(dsn):
        conn = psycopg.connect(dsn)
        conn.execute("SET lock_timeout = '100ms'")
        conn.commit()
        return conn

    # a Receive Maximum far above the bound: the broker may send all; the client must not take it
    feed = make_feed(
        db_dsn, broker_url, topic, buffer_messages=bound, batch_size=15, receive_maximum=1000
    )
    feed.connect_db = refusing
    started(feed)
    blocker = psycopg.connect(db_dsn)
    blocker.execute("LOCK TABLE vehicles IN ACCESS EXCLUSIVE MODE")
    try:
        with publisher(broker_url) as pub:
            for m in range(sent):
                pub.send(f"{topic}/v", payload(code, m * 0.25, 0.0001 * m))
        wait_until(lambda: feed.stats.messages >= bound, what="the bound reached")
        wait_until(lambda: feed.stats.db_failures >= 3, what="the feed to retry")
        assert feed.stats.messages <= bound and feed.stats.paused >= 1
        assert feed.stats.acked == 0
        blocker.rollback()
        wait_until(lambda: count(db_dsn, code) == sent, timeout=60, what="all fixes stored")
        wait_until(lambda: feed.stats.acked == sent, what="all acked")
    finally:
        blocker.close()
        feed.stop()
    assert count(db_dsn, code) == sent
    assert feed.stats.max_inflight <= bound
    assert feed.stats.counts["duplicate"] == 0
