"""The live feed's settings (`feed:` in config.yml): its MQTT broker and its JT/T 808 listener.

Kept apart from settings.py, which holds every other section, so each file stays small.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Jt808FeedSettings(BaseModel):
    """The JT/T 808 listener (`onemap feed jt808`); all but enabled/host/port → Jt808Settings."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    host: str = "0.0.0.0"
    port: int = Field(6808, ge=1, le=65535)
    crs: Literal["wgs84", "gcj02", "bd09"] = "wgs84"  # what the terminals send
    require_auth: bool = True  # location reports only after 0x0102 succeeded
    idle_timeout_s: float = Field(180.0, gt=0)  # no valid frame this long: closed
    max_connections: int = Field(20000, ge=1)
    batch_max_fixes: int = Field(2000, ge=1, le=50000)  # fixes per transaction at most
    batch_max_wait_s: float = Field(0.02, gt=0, le=10)  # a batch waits this long to fill


class FishingBanNightSettings(BaseModel):
    """禁捕区 at night: a vessel of `kinds` inside a `fishing_ban` river zone between
    `night_from` and `night_to` (local time in `timezone`; the night may cross midnight) is
    one geofence alert per episode. Patrol boats are not listed: they patrol those waters."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    night_from: dt.time = dt.time(20, 0)
    night_to: dt.time = dt.time(6, 0)
    timezone: str = "Asia/Shanghai"
    kinds: list[str] = ["fishing_boat", "cargo_ship"]

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v


class GeofenceSettings(BaseModel):
    """Rules judged on every vehicle that moves (layers/geofences.py)."""

    model_config = ConfigDict(extra="forbid")

    fishing_ban_night: FishingBanNightSettings = FishingBanNightSettings()


class FeedSettings(BaseModel):
    """The live GPS feed (`onemap feed`): its MQTT broker, batching and when a vehicle is offline.

    url: mqtt://host:port, or mqtts:// for TLS (ca_file: the broker's CA, empty: system CAs).
    A QoS 1 message is acknowledged only after its fixes are committed; the session is
    persistent (client_id + session_expiry_s), so what is not acknowledged is redelivered.
    """

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    url: str = "mqtt://127.0.0.1:1883"
    topics: list[str] = ["onemap/positions/#"]
    qos: int = Field(1, ge=0, le=1)
    client_id: str = Field("onemap-feed", min_length=1, max_length=64)
    username: str = ""
    password: str = ""
    ca_file: str = ""
    session_expiry_s: int = Field(7 * 86400, ge=0)
    batch_size: int = Field(2000, ge=1, le=50000)  # messages per transaction at most
    batch_latency_ms: int = Field(100, ge=1, le=60000)  # wait at most this for a batch to fill
    buffer_messages: int = Field(20000, ge=10)  # unacknowledged messages held at most
    offline_after_s: int = Field(300, ge=10)  # no fix for this long: the vehicle is offline
    derive_every_s: float = Field(30.0, ge=0, le=3600)  # tracks/trips caught up; 0: never here
    jt808: Jt808FeedSettings = Jt808FeedSettings()
    geofences: GeofenceSettings = GeofenceSettings()

    @field_validator("username", "password", "ca_file", mode="before")
    @classmethod
    def _null_is_empty(cls, v: Any) -> Any:
        return "" if v is None else v

    @field_validator("url")
    @classmethod
    def _mqtt_url(cls, v: str) -> str:
        if not v.startswith(("mqtt://", "mqtts://")):
            raise ValueError("must be an mqtt:// or mqtts:// URL")
        return v
