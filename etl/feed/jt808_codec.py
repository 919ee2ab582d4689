"""JT/T 808 message bodies (2013 and 2019 editions): the ones a position feed needs.

Terminal -> platform: 0x0001 general response, 0x0002 heartbeat (empty body),
0x0003 logout (empty), 0x0004 time query (2019, empty), 0x0100 registration, 0x0102 authentication, 0x0200 location report, 0x0704
batch location upload. Platform -> terminal: 0x8001 general response, 0x8004
time reply, 0x8100 registration reply. WORD/DWORD are big-endian; STRING is GBK.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from etl.feed.jt808_frame import V2019, bcd_decode, bcd_encode

TERMINAL_RESPONSE = 0x0001
HEARTBEAT = 0x0002
LOGOUT = 0x0003  # 2013: terminal logout (注销), empty body
QUERY_TIME = 0x0004  # 2019: query the server's time, empty body
REGISTER = 0x0100
AUTHENTICATE = 0x0102
LOCATION = 0x0200
BATCH_LOCATION = 0x0704
PLATFORM_RESPONSE = 0x8001
REGISTER_REPLY = 0x8100
TIME_REPLY = 0x8004  # 2019: BCD[6] YYMMDDhhmmss in UTC (not GMT+8)

# general response results (0x0001 / 0x8001)
OK, FAIL, BAD_MESSAGE, UNSUPPORTED = 0, 1, 2, 3
# registration reply results (0x8100)
REG_OK, REG_VEHICLE_TAKEN, REG_NO_VEHICLE, REG_TERMINAL_TAKEN, REG_NO_TERMINAL = 0, 1, 2, 3, 4

# status bits of 0x0200 (Table 25)
STATUS_ACC = 1 << 0
STATUS_LOCATED = 1 << 1
STATUS_SOUTH = 1 << 2
STATUS_WEST = 1 << 3

GMT8 = dt.timezone(dt.timedelta(hours=8))
_LOCATION_BASE = 28  # 4 DWORD + 3 WORD + BCD[6]


class BodyError(ValueError):
    """A message body that does not follow its table in the standard."""


def _need(body: bytes, size: int, what: str) -> None:
    if len(body) < size:
        raise BodyError(f"{what}: {len(body)} bytes, needs at least {size}")


def _text(raw: bytes) -> str:
    return raw.rstrip(b"\x00").decode("gbk", errors="replace")


def _fixed(text: str, size: int) -> bytes:
    return text.encode("gbk")[:size].ljust(size, b"\x00")


# -- general responses ---------------------------------------------------------


@dataclass(frozen=True)
class GeneralResponse:
    """0x0001 / 0x8001: which message (serial and id) is answered, and how."""

    reply_serial: int
    reply_id: int
    result: int


def encode_response(r: GeneralResponse) -> bytes:
    return r.reply_serial.to_bytes(2, "big") + r.reply_id.to_bytes(2, "big") + bytes([r.result])


def decode_response(body: bytes) -> GeneralResponse:
    _need(body, 5, "general response")
    return GeneralResponse(
        int.from_bytes(body[0:2], "big"), int.from_bytes(body[2:4], "big"), body[4]
    )


# -- registration and authentication --------------------------------------------


@dataclass(frozen=True)
class Registration:
    """0x0100. Field sizes: maker 5/11, model 20/30, terminal id 7/30 bytes (2013/2019)."""

    province: int
    city: int
    maker: str
    model: str
    terminal_id: str
    plate_colour: int
    plate: str


V2011_REGISTRATION = 2011  # maker 5, model 8, terminal id 7: older terminals still send it


def _registration_sizes(version: int) -> tuple[int, int, int]:
    if version == V2011_REGISTRATION:
        return (5, 8, 7)
    return (11, 30, 30) if version == V2019 else (5, 20, 7)


def encode_registration(r: Registration, version: int) -> bytes:
    maker, model, tid = _registration_sizes(version)
    return (
        r.province.to_bytes(2, "big")
        + r.city.to_bytes(2, "big")
        + _fixed(r.maker, maker)
        + _fixed(r.model, model)
        + _fixed(r.terminal_id, tid)
        + bytes([r.plate_colour])
        + r.plate.encode("gbk")
    )


def decode_registration(body: bytes, version: int) -> Registration:
    """A 2013-header body too short for the 2013 table is read with the 2011 one (model[8])."""
    if version not in (V2019, V2011_REGISTRATION) and len(body) < 37:
        version = V2011_REGISTRATION
    maker, model, tid = _registration_sizes(version)
    size = 4 + maker + model + tid + 1
    _need(body, size, "registration")
    a, b, c = 4 + maker, 4 + maker + model, 4 + maker + model + tid
    return Registration(
        province=int.from_bytes(body[0:2], "big"),
        city=int.from_bytes(body[2:4], "big"),
        maker=_text(body[4:a]),
        model=_text(body[a:b]),
        terminal_id=_text(body[b:c]),
        plate_colour=body[c],
        plate=_text(body[size:]),
    )


@dataclass(frozen=True)
class RegistrationReply:
    """0x8100: the registration's serial, a result, and the auth code (only on success)."""

    reply_serial: int
    result: int
    auth_code: str = ""


def encode_registration_reply(r: RegistrationReply) -> bytes:
    body = r.reply_serial.to_bytes(2, "big") + bytes([r.result])
    return body + (r.auth_code.encode("gbk") if r.result == REG_OK else b"")


def decode_registration_reply(body: bytes) -> RegistrationReply:
    _need(body, 3, "registration reply")
    return RegistrationReply(int.from_bytes(body[0:2], "big"), body[2], _text(body[3:]))


@dataclass(frozen=True)
class Authentication:
    """0x0102: 2013 is the auth code alone; 2019 adds its length, IMEI[15] and version[20]."""

    auth_code: str
    imei: str = ""
    software_version: str = ""


def encode_authentication(a: Authentication, version: int) -> bytes:
    code = a.auth_code.encode("gbk")
    if version != V2019:
        return code
    return bytes([len(code)]) + code + _fixed(a.imei, 15) + _fixed(a.software_version, 20)


def decode_authentication(body: bytes, version: int) -> Authentication:
    if version != V2019:
        return Authentication(_text(body))
    _need(body, 1, "authentication")
    n = body[0]
    _need(body, 1 + n + 35, "authentication")
    rest = body[1 + n :]
    return Authentication(_text(body[1 : 1 + n]), _text(rest[:15]), _text(rest[15:35]))


# -- location -------------------------------------------------------------------


def decode_bcd_time(raw: bytes, tz: dt.tzinfo = GMT8) -> dt.datetime:
    """BCD[6] YYMMDDhhmmss (in GMT+8 unless told) as an aware UTC datetime."""
    try:
        d = bcd_decode(raw)
        t = dt.datetime(
            2000 + int(d[0:2]), int(d[2:4]), int(d[4:6]), int(d[6:8]), int(d[8:10]), int(d[10:12]),
            tzinfo=tz,
        )  # fmt: skip
    except ValueError as e:
        raise BodyError(f"time {raw.hex()}: {e}") from None
    return t.astimezone(dt.UTC)


def encode_bcd_time(t: dt.datetime) -> bytes:
    if t.tzinfo is None:
        raise ValueError("time must be timezone-aware")
    return bcd_encode(t.astimezone(GMT8).strftime("%y%m%d%H%M%S"), 6)


def encode_time_reply(t: dt.datetime) -> bytes:
    """0x8004's body: the time as BCD[6] in UTC."""
    return bcd_encode(t.astimezone(dt.UTC).strftime("%y%m%d%H%M%S"), 6)


def decode_time_reply(body: bytes) -> dt.datetime:
    _need(body, 6, "time reply")
    return decode_bcd_time(body[:6], dt.UTC)


@dataclass(frozen=True)
class Location:
    """0x0200 basic information (Table 23) plus the additional items, raw by id.

    `lat`/`lon` are signed degrees (the south/west status bits applied);
    `speed` km/h (sent in 1/10 km/h), `heading` degrees 0-359, `altitude` m.
    """

    alarm: int
    status: int
    lat: float
    lon: float
    altitude: int
    speed: float
    heading: int
    t: dt.datetime
    extras: dict[int, bytes] = field(default_factory=dict)

    @property
    def located(self) -> bool:
        return bool(self.status & STATUS_LOCATED)


def _extras(raw: bytes) -> dict[int, bytes]:
    """Additional items (id BYTE, length BYTE, value); a truncated tail is ignored."""
    items: dict[int, bytes] = {}
    i = 0
    while i + 2 <= len(raw):
        item_id, n = raw[i], raw[i + 1]
        if i + 2 + n > len(raw):
            break
        items[item_id] = raw[i + 2 : i + 2 + n]
        i += 2 + n
    return items


def decode_location(body: bytes) -> Location:
    _need(body, _LOCATION_BASE, "location")
    alarm, status, lat_u, lon_u = (int.from_bytes(body[i : i + 4], "big") for i in (0, 4, 8, 12))
    altitude, speed, heading = (int.from_bytes(body[i : i + 2], "big") for i in (16, 18, 20))
    lat = lat_u / 1e6 * (-1 if status & STATUS_SOUTH else 1)
    lon = lon_u / 1e6 * (-1 if status & STATUS_WEST else 1)
    t = decode_bcd_time(body[22:28])
    return Location(alarm, status, lat, lon, altitude, speed / 10, heading, t, _extras(body[28:]))


def encode_location(loc: Location) -> bytes:
    """Body of a 0x0200; the south/west bits are set from the signs of lat/lon."""
    status = loc.status & ~(STATUS_SOUTH | STATUS_WEST)
    status |= STATUS_SOUTH if loc.lat < 0 else 0
    status |= STATUS_WEST if loc.lon < 0 else 0
    body = (
        loc.alarm.to_bytes(4, "big")
        + status.to_bytes(4, "big")
        + round(abs(loc.lat) * 1e6).to_bytes(4, "big")
        + round(abs(loc.lon) * 1e6).to_bytes(4, "big")
        + loc.altitude.to_bytes(2, "big")
        + round(loc.speed * 10).to_bytes(2, "big")
        + loc.heading.to_bytes(2, "big")
        + encode_bcd_time(loc.t)
    )
    for item_id, value in loc.extras.items():
        body += bytes([item_id, len(value)]) + value
    return body


@dataclass(frozen=True)
class BatchLocation:
    """0x0704: count, type (0 normal batch, 1 blind-area backfill), the 0x0200 bodies."""

    kind: int
    items: list[Location]


def encode_batch(b: BatchLocation) -> bytes:
    body = len(b.items).to_bytes(2, "big") + bytes([b.kind])
    for loc in b.items:
        item = encode_location(loc)
        body += len(item).to_bytes(2, "big") + item
    return body


def decode_batch(body: bytes) -> BatchLocation:
    _need(body, 3, "batch location")
    count, kind = int.from_bytes(body[0:2], "big"), body[2]
    items, pos = [], 3
    for k in range(count):
        _need(body, pos + 2, f"batch item {k + 1}")
        n = int.from_bytes(body[pos : pos + 2], "big")
        _need(body, pos + 2 + n, f"batch item {k + 1}")
        items.append(decode_location(body[pos + 2 : pos + 2 + n]))
        pos += 2 + n
    if pos != len(body):
        raise BodyError(f"batch location: {len(body) - pos} bytes after {count} items")
    return BatchLocation(kind, items)
