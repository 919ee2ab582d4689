"""One GPS fix as a feed sends it, and the payload rules every feed shares.

A payload is a JSON object (or an array of them) or a CSV row:
`vehicle` (code or plate), `t` (ISO 8601 — without an offset it is
Asia/Shanghai time — or epoch milliseconds), `lon`, `lat`, optional `speed`
(km/h), `heading` (degrees), `crs` (wgs84 | gcj02 | bd09, default wgs84).
A payload that breaks these rules can never succeed: it is rejected with a
reason, never retried.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
CRS_NAMES = ("wgs84", "gcj02", "bd09")
MAX_SPEED_KMH = 1000.0  # anything faster is no vehicle of a district
_EPOCH_MS_MIN = 946_684_800_000  # 2000-01-01: epoch seconds sent as ms land before this


@dataclass(frozen=True)
class Fix:
    """A fix as received: coordinates still in `crs`, time timezone-aware."""

    vehicle: str
    t: dt.datetime
    lon: float
    lat: float
    speed: float | None = None
    heading: float | None = None
    crs: str = "wgs84"


class BadFix(ValueError):
    """A payload that can never become a fix; `field` names the culprit."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field


def parse_time(value: object) -> dt.datetime:
    """ISO 8601 (naive = Asia/Shanghai) or epoch milliseconds, as an aware datetime."""
    if isinstance(value, bool):
        raise BadFix("t", "must be ISO 8601 or epoch milliseconds")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float):
        if not math.isfinite(value) or value < _EPOCH_MS_MIN or value > 32_503_680_000_000:
            raise BadFix("t", f"epoch milliseconds out of range: {value}")
        return dt.datetime.fromtimestamp(value / 1000.0, dt.UTC)
    if not isinstance(value, str):
        raise BadFix("t", "must be ISO 8601 or epoch milliseconds")
    try:
        t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadFix("t", f"not ISO 8601: {value[:40]!r}") from None
    return t.replace(tzinfo=SHANGHAI) if t.tzinfo is None else t


def _number(payload: dict, name: str, required: bool) -> float | None:
    value = payload.get(name)
    if value is None or value == "":
        if required:
            raise BadFix(name, "missing")
        return None
    if isinstance(value, bool):
        raise BadFix(name, "must be a number")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise BadFix(name, f"not a number: {str(value)[:40]!r}") from None
    if not math.isfinite(number):
        raise BadFix(name, "must be finite")
    return number


def check_ranges(lon: float, lat: float, speed: float | None, heading: float | None) -> None:
    if not -180.0 <= lon <= 180.0:
        raise BadFix("lon", f"out of range: {lon}")
    if not -90.0 <= lat <= 90.0:
        raise BadFix("lat", f"out of range: {lat}")
    if speed is not None and not 0.0 <= speed <= MAX_SPEED_KMH:
        raise BadFix("speed", f"out of range: {speed}")
    if heading is not None and not 0.0 <= heading <= 360.0:
        raise BadFix("heading", f"out of range: {heading}")


def from_payload(payload: object) -> Fix:
    """A Fix from one JSON object / CSV row; BadFix naming the field otherwise."""
    if not isinstance(payload, dict):
        raise BadFix("(payload)", "must be a JSON object")
    vehicle = payload.get("vehicle")
    if isinstance(vehicle, int) and not isinstance(vehicle, bool):
        vehicle = str(vehicle)
    if not isinstance(vehicle, str) or not vehicle.strip() or len(vehicle) > 64:
        raise BadFix("vehicle", "must be a vehicle code or plate")
    if not vehicle.isprintable():  # NUL and control characters: PostgreSQL text refuses NUL
        raise BadFix("vehicle", "contains control characters")
    crs = str(payload.get("crs") or "wgs84").strip().lower()
    if crs not in CRS_NAMES:
        raise BadFix("crs", f"must be one of {', '.join(CRS_NAMES)}")
    lon, lat = _number(payload, "lon", True), _number(payload, "lat", True)
    speed, heading = _number(payload, "speed", False), _number(payload, "heading", False)
    check_ranges(lon, lat, speed, heading)
    return Fix(vehicle.strip(), parse_time(payload.get("t")), lon, lat, speed, heading, crs)
