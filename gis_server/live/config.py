"""The feed's settings turned into what etl/feed takes (etl never reads settings)."""

from __future__ import annotations

from etl.feed.ingest import FeedRules
from etl.feed.jt808_session import Jt808Settings
from etl.feed.mqtt import MqttOptions
from gis_server.settings import Settings
from layers.trips import TripRules


def feed_rules(settings: Settings) -> FeedRules:
    """The district's extent and the GPS import's speed limits and trip rule, for every feed."""
    gps = settings.imports.gps
    return FeedRules(
        extent=tuple(settings.district.extent),
        max_speed_kmh=dict(gps.max_speed_kmh),
        trips=TripRules(gps.stop_minutes, gps.gap_minutes, gps.stop_speed_kmh),
    )


def mqtt_options(settings: Settings) -> MqttOptions:
    f = settings.feed
    return MqttOptions(
        url=f.url,
        topics=tuple(f.topics),
        qos=f.qos,
        client_id=f.client_id,
        username=f.username,
        password=f.password,
        ca_file=f.ca_file,
        session_expiry_s=f.session_expiry_s,
        batch_size=f.batch_size,
        batch_latency_s=f.batch_latency_ms / 1000.0,
        buffer_messages=f.buffer_messages,
    )


def jt808_settings(settings: Settings) -> Jt808Settings:
    """The listener's settings from `feed.jt808` (checked again by name there)."""
    listener = settings.feed.jt808.model_dump(exclude={"enabled", "host", "port"})
    return Jt808Settings.from_mapping(listener)
