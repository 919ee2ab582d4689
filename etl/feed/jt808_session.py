"""One terminal's conversation: decode a frame, decide, and say what to send back.

Registration hands out an auth code (0x8100); authentication checks it; with
`require_auth` a location report before authentication is answered "fail".
Location (0x0200) and batch (0x0704) reports become `Fix808`s and are answered
0x8001 only after the sink accepted them. A frame whose header could be read
but whose checksum, escaping, length or body is wrong is answered "bad
message" (result 2); one whose header is unreadable is skipped.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from dataclasses import dataclass, field, fields

from etl.feed import jt808_codec as c
from etl.feed.jt808_frame import FrameError, Header, decode_frame, encode_frame
from etl.feed.jt808_packets import Reassembly
from etl.feed.jt808_sink import CRS_NAMES, Fix808, SinkBatcher, call_maybe_async

log = logging.getLogger(__name__)
# lookup(phone, plate) -> vehicle code or None; plate is the one the terminal registered
# with (None if it has not registered since the registrations were kept)
Lookup = Callable[[str, str | None], Awaitable[str | None] | str | None]


class LookupFailed(RuntimeError):
    """The phone -> vehicle lookup raised (e.g. the database is down): answer later, not "no"."""


@dataclass
class Jt808Settings:
    """Listener settings (plain data; the CLI fills them from config.yml)."""

    crs: str = "wgs84"  # what the terminals' coordinates are (the standard says WGS84)
    require_auth: bool = True  # location reports only after 0x0102 succeeded
    accept_unknown: bool = False  # terminals the lookup does not know may register/report
    skip_unlocated: bool = True  # reports without a GNSS fix (status bit 1) are not stored
    idle_timeout_s: float = 180.0  # no valid frame (or answers unread) this long: closed
    max_frame_bytes: int = 4096  # escaped; a 1023-byte body needs at most ~2,100
    max_connections: int = 20000
    max_message_bytes: int = 65536  # a subpackaged message reassembled
    batch_max_fixes: int = 2000
    batch_max_wait_s: float = 0.02

    def __post_init__(self) -> None:
        if self.crs not in CRS_NAMES:
            raise ValueError(f"crs must be one of {', '.join(CRS_NAMES)}, not {self.crs!r}")
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, int | float) and not isinstance(value, bool) and value <= 0:
                raise ValueError(f"{f.name} must be positive, not {value}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, object], where: str = "feed.jt808") -> Jt808Settings:
        """From a config block; an unknown key or a value of the wrong type is named."""
        defaults, checked = cls(), {}
        for key, value in values.items():
            if not hasattr(defaults, key):
                raise ValueError(f"{where}.{key}: unknown setting")
            kind = type(getattr(defaults, key))
            if kind is float and type(value) is int:
                value = float(value)
            if type(value) is not kind:
                raise ValueError(f"{where}.{key}: must be {kind.__name__}, not {value!r}")
            checked[key] = value
        try:
            return cls(**checked)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None


@dataclass
class Stats:
    """Counters of the listener, for `onemap feed status`."""

    connections: int = 0
    connections_total: int = 0
    refused_connections: int = 0
    idle_closed: int = 0
    frames: int = 0
    fixes: int = 0
    bad: dict[str, int] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)

    def count(self, table: dict[str, int], reason: str, n: int = 1) -> None:
        table[reason] = table.get(reason, 0) + n


@dataclass(frozen=True)
class Registered:
    """What a registration left behind: the auth code handed out and the plate sent."""

    auth_code: str
    plate: str


@dataclass
class Shared:
    """What all sessions of one listener share."""

    settings: Jt808Settings
    batcher: SinkBatcher
    lookup: Lookup
    registered: MutableMapping[str, Registered]  # by phone; persist it to survive restarts
    stats: Stats


class Deferred:
    """A report's answer, known once the sink has taken its fixes (written in turn)."""

    def __init__(self, session: Session, header: Header, accepted: asyncio.Future, count: int):
        self.session, self.header, self.accepted, self.count = session, header, accepted, count

    async def resolve(self) -> bytes:
        try:
            await self.accepted
        except Exception as e:
            log.warning("sink refused %d fixes of %s: %s", self.count, self.header.phone, e)
            return self.session.general_response(self.header, c.FAIL)
        self.session.shared.stats.fixes += self.count
        return self.session.general_response(self.header, c.OK)


Reply = bytes | Deferred


class Session:
    """State of one TCP connection: its terminal, whether it authenticated, its vehicle."""

    def __init__(self, shared: Shared):
        self.shared = shared
        self.phone: str | None = None
        self.authenticated = False
        self.vehicle: str | None = None
        self._resolved = False
        self._serial = 0
        self._packets = Reassembly(shared.settings.max_message_bytes)

    async def on_frame(self, escaped: bytes) -> tuple[list[Reply], bool]:
        """The answers to send back (in order), and whether `escaped` was a valid message.

        Reports are not waited for here: their `Deferred` answers let the
        listener handle the rest of a read before waiting for the sink."""
        stats = self.shared.stats
        try:
            header, body = decode_frame(escaped)
        except FrameError as e:
            stats.count(stats.bad, e.reason)
            return ([self.general_response(e.header, c.BAD_MESSAGE)] if e.header else []), False
        stats.frames += 1
        if self.phone is None:
            self.phone = header.phone
        elif header.phone != self.phone:
            stats.count(stats.bad, "other_phone")
            return [self.general_response(header, c.FAIL)], False
        if header.encryption:
            return [self.general_response(header, c.UNSUPPORTED)], True
        if header.subpackaged:
            whole = self._packets.add(header, body)
            if whole is None:
                return [self.general_response(header, c.OK)], True
            header, body = whole
        try:
            return await self._dispatch(header, body), True
        except LookupFailed:
            # registration has no "try again" result: no answer, and its timeout makes it retry
            return (
                [] if header.msg_id == c.REGISTER else [self.general_response(header, c.FAIL)]
            ), True
        except c.BodyError as e:
            stats.count(stats.bad, "bad_body")
            log.debug("terminal %s message %#06x: %s", header.phone, header.msg_id, e)
            return [self.general_response(header, c.BAD_MESSAGE)], False

    async def _dispatch(self, h: Header, body: bytes) -> list[Reply]:
        if h.msg_id == c.HEARTBEAT:
            return [self.general_response(h, c.OK)]
        if h.msg_id == c.TERMINAL_RESPONSE:
            return []
        if h.msg_id == c.REGISTER:
            return [await self._register(h, body)]
        if h.msg_id == c.AUTHENTICATE:
            return [self.general_response(h, await self._authenticate(h, body))]
        if h.msg_id == c.QUERY_TIME:
            now = dt.datetime.now(dt.UTC)
            return [self._send(h, c.TIME_REPLY, c.encode_time_reply(now))]
        if h.msg_id == c.LOGOUT:  # its auth code is void
            self.shared.registered.pop(h.phone, None)
            self.authenticated = False
            return [self.general_response(h, c.OK)]
        if h.msg_id == c.LOCATION:
            return [self._answer(h, await self._report(h, [c.decode_location(body)]))]
        if h.msg_id == c.BATCH_LOCATION:
            return [self._answer(h, await self._report(h, c.decode_batch(body).items))]
        return [self.general_response(h, c.UNSUPPORTED)]

    async def _register(self, h: Header, body: bytes) -> bytes:
        plate = c.decode_registration(body, h.version).plate
        self._resolved = False  # the plate may be new
        vehicle = await self._vehicle(h.phone, plate)
        if vehicle is None and not self.shared.settings.accept_unknown:
            reply = c.RegistrationReply(h.serial, c.REG_NO_TERMINAL)
        else:
            code = secrets.token_hex(8)
            self.shared.registered[h.phone] = Registered(code, plate)
            reply = c.RegistrationReply(h.serial, c.REG_OK, code)
        return self._send(h, c.REGISTER_REPLY, c.encode_registration_reply(reply))

    async def _authenticate(self, h: Header, body: bytes) -> int:
        auth = c.decode_authentication(body, h.version)
        known = self.shared.registered.get(h.phone)
        if known is None or not hmac.compare_digest(known.auth_code, auth.auth_code):
            return c.FAIL
        vehicle = await self._vehicle(h.phone, known.plate)
        if vehicle is None and not self.shared.settings.accept_unknown:
            return c.FAIL
        self.authenticated = True
        return c.OK

    async def _report(self, h: Header, locations: list[c.Location]) -> int | Deferred:
        shared, stats = self.shared, self.shared.stats
        if shared.settings.require_auth and not self.authenticated:
            stats.count(stats.dropped, "not_authenticated", len(locations))
            return c.FAIL
        known = shared.registered.get(h.phone)
        vehicle = await self._vehicle(h.phone, known.plate if known else None)
        if vehicle is None and not shared.settings.accept_unknown:
            stats.count(stats.dropped, "unknown_terminal", len(locations))
            return c.OK  # it can never be stored: answered, counted, not retried
        fixes = [self._fix(vehicle, h.phone, loc) for loc in locations]
        kept = [f for f, loc in zip(fixes, locations, strict=True) if self._keep(loc)]
        if len(kept) < len(fixes):
            stats.count(stats.dropped, "unlocated", len(fixes) - len(kept))
        if not kept:
            return c.OK
        return Deferred(self, h, shared.batcher.enqueue(kept), len(kept))

    def _answer(self, h: Header, result: int | Deferred) -> Reply:
        return result if isinstance(result, Deferred) else self.general_response(h, result)

    def _keep(self, loc: c.Location) -> bool:
        return loc.located or not self.shared.settings.skip_unlocated

    def _fix(self, vehicle: str | None, phone: str, loc: c.Location) -> Fix808:
        return Fix808(
            vehicle, loc.t, loc.lon, loc.lat, loc.speed, float(loc.heading),
            self.shared.settings.crs, phone, loc.altitude, loc.alarm, loc.status, loc.extras,
        )  # fmt: skip

    async def _vehicle(self, phone: str, plate: str | None) -> str | None:
        if not self._resolved:
            try:
                self.vehicle = await call_maybe_async(self.shared.lookup, phone, plate)
            except Exception as e:
                log.warning("vehicle lookup of terminal %s failed: %s", phone, e)
                self.shared.stats.count(self.shared.stats.dropped, "lookup_failed")
                raise LookupFailed(phone) from e
            self._resolved = self.vehicle is not None
        return self.vehicle

    def general_response(self, h: Header, result: int) -> bytes:
        body = c.encode_response(c.GeneralResponse(h.serial, h.msg_id, result))
        return self._send(h, c.PLATFORM_RESPONSE, body)

    def _send(self, h: Header, msg_id: int, body: bytes) -> bytes:
        self._serial = (self._serial + 1) & 0xFFFF
        return encode_frame(h.reply(msg_id, self._serial, len(body)), body)
