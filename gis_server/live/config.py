"""The feed's settings turned into what etl/feed takes (etl never reads settings)."""

from __future__ import annotations

from etl.feed.ingest import FeedRules
from etl.feed.jt808_session import Jt808Settings
from etl.feed.mqtt import MqttOptions
from gis_server.settings import Settings
from layers.geofences import NightBan
from layers.trips import TripRules


def night_ban(settings: Settings) -> NightBan:
    """禁捕区 at night from `feed.geofences.fishing_ban_night` (no kinds: the rule is off)."""
    n = settings.feed.geofences.fishing_ban_night
    kinds = tuple(n.kinds) if n.enabled else ()
    return NightBan(kinds, n.night_from, n.night_to, n.timezone)


def feed_rules(settings: Settings) -> FeedRules:
    """The district's extent, the GPS import's speed limits and trip rule and the
    geofences' night, for every feed."""
    gps = settings.imports.gps
    return FeedRules(
        extent=tuple(settings.district.extent),
        max_speed_kmh=dict(gps.max_speed_kmh),
        night_ban=night_ban(settings),
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
