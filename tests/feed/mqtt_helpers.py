"""A test publisher and feed builder for the MQTT tests."""

from __future__ import annotations

import json
import secrets
from contextlib import contextmanager
from urllib.parse import urlsplit

import paho.mqtt.client as mqtt

from etl.feed.ingest import FeedRules
from etl.feed.mqtt import MqttFeed, MqttOptions
from tests.feed.brokers import wait_until

RULES = FeedRules(extent=(121.0, 31.7, 121.6, 32.2), max_speed_kmh={"default": 120.0})


class Publisher:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="")
        self.client.connect(parts.hostname, parts.port)
        self.client.loop_start()
        wait_until(self.client.is_connected, what="publisher connected")

    def send(self, topic: str, payload, raw: bool = False) -> None:
        body = payload if raw else json.dumps(payload, ensure_ascii=False)
        self.client.publish(topic, body, qos=1).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@contextmanager
def publisher(url: str):
    p = Publisher(url)
    try:
        yield p
    finally:
        p.close()


def new_topic() -> str:
    return f"onemap/positions/test-{secrets.token_hex(4)}"


def make_feed(dsn: str, url: str, topic: str, client_id: str | None = None, **kw) -> MqttFeed:
    options = MqttOptions(
        url=url,
        topics=(f"{topic}/#",),
        client_id=client_id or f"onemap-test-{secrets.token_hex(4)}",
        batch_latency_s=0.05,
        session_expiry_s=kw.pop("session_expiry_s", 300),  # long enough, leaves no litter
        **kw,
    )
    return MqttFeed(dsn, options, RULES)


def started(feed: MqttFeed) -> MqttFeed:
    feed.start()
    wait_until(lambda: feed.stats.subscribed >= 1, what="feed subscribed")
    return feed
