"""A JT/T 808 terminal simulator (asyncio): what the tests and the bench talk to the listener with.

    t = Terminal("13912345678", version=V2019)
    await t.connect(host, port)
    reply = await t.register("苏A12345")         # 0x8100 with the auth code
    await t.authenticate(reply.auth_code)         # 0x8001
    await t.report(location(31.3, 120.6))         # 0x0200 -> 0x8001
    await t.report_batch([...])                   # 0x0704 -> 0x8001

Each request waits for the platform's answer to its serial (`timeout_s`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math

from etl.feed import jt808_codec as c
from etl.feed.jt808_frame import V2013, V2019, FrameSplitter, Header, decode_frame, encode_frame


def location(
    lat: float, lon: float, t: dt.datetime | None = None, speed: float = 30.0, heading: int = 90,
    status: int = c.STATUS_ACC | c.STATUS_LOCATED, extras: dict[int, bytes] | None = None,
) -> c.Location:  # fmt: skip
    """A located 0x0200 report (now, unless `t` is given; whole seconds, as sent)."""
    t = (t or dt.datetime.now(dt.UTC)).replace(microsecond=0)
    return c.Location(0, status, lat, lon, 12, speed, heading, t, extras or {})


def circle_point(centre: tuple[float, float], step: int, radius_deg: float = 0.01):
    """(lat, lon, heading) of the `step`-th point on a small circle: a vehicle going round."""
    a = math.radians(step * 6 % 360)
    lat = centre[0] + radius_deg * math.sin(a)
    lon = centre[1] + radius_deg * math.cos(a)
    return lat, lon, int((math.degrees(a) + 90) % 360)


class Terminal:
    """One simulated terminal on one TCP connection."""

    def __init__(self, phone: str, version: int = V2013, timeout_s: float = 10.0):
        self.phone = phone
        self.version = version
        self.timeout_s = timeout_s
        self.serial = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self._splitter = FrameSplitter(1 << 16)
        self._frames: list[bytes] = []

    async def connect(self, host: str, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection(host, port)

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            try:
                await self.writer.wait_closed()
            except (ConnectionError, OSError):
                pass

    def frame(self, msg_id: int, body: bytes = b"", **header) -> bytes:
        """The next frame this terminal would send (its serial counted)."""
        self.serial = (self.serial + 1) & 0xFFFF
        proto = 1 if self.version == V2019 else 0
        h = Header(msg_id, self.phone, self.serial, len(body), self.version, proto, **header)
        return encode_frame(h, body)

    async def send_raw(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def request(self, msg_id: int, body: bytes = b"") -> tuple[Header, bytes]:
        """Send a message and return the platform's answer to it."""
        await self.send_raw(self.frame(msg_id, body))
        return await self.reply_to(self.serial)

    async def reply_to(self, serial: int) -> tuple[Header, bytes]:
        """The next platform message answering `serial` (others are skipped)."""
        async with asyncio.timeout(self.timeout_s):
            while True:
                h, body = await self.next_message()
                if h.msg_id in (c.PLATFORM_RESPONSE, c.REGISTER_REPLY) and len(body) >= 2:
                    if int.from_bytes(body[0:2], "big") == serial:
                        return h, body

    async def next_message(self) -> tuple[Header, bytes]:
        """The next frame from the platform, decoded (EOF: ConnectionError)."""
        while not self._frames:
            data = await self.reader.read(65536)
            if not data:
                raise ConnectionError("platform closed the connection")
            self._frames.extend(self._splitter.feed(data))
        return decode_frame(self._frames.pop(0))

    async def register(self, plate: str = "苏E00000", colour: int = 1) -> c.RegistrationReply:
        reg = c.Registration(32, 500, "ONEMP", "SIM-808", self.phone[-7:], colour, plate)
        _, body = await self.request(c.REGISTER, c.encode_registration(reg, self.version))
        return c.decode_registration_reply(body)

    async def authenticate(self, code: str) -> c.GeneralResponse:
        auth = c.Authentication(code, "86" + self.phone.rjust(13, "0"), "sim-1.0")
        return await self._general(c.AUTHENTICATE, c.encode_authentication(auth, self.version))

    async def query_time(self) -> dt.datetime:
        """0x0004 -> 0x8004 (2019): the platform's clock, to the second."""
        await self.send_raw(self.frame(c.QUERY_TIME))
        async with asyncio.timeout(self.timeout_s):
            while True:
                h, body = await self.next_message()
                if h.msg_id == c.TIME_REPLY:
                    return c.decode_time_reply(body)

    async def heartbeat(self) -> c.GeneralResponse:
        return await self._general(c.HEARTBEAT)

    async def report(self, loc: c.Location) -> c.GeneralResponse:
        return await self._general(c.LOCATION, c.encode_location(loc))

    async def report_batch(self, locs: list[c.Location], kind: int = 0) -> c.GeneralResponse:
        return await self._general(c.BATCH_LOCATION, c.encode_batch(c.BatchLocation(kind, locs)))

    async def _general(self, msg_id: int, body: bytes = b"") -> c.GeneralResponse:
        _, reply = await self.request(msg_id, body)
        return c.decode_response(reply)

    async def sign_in(self, plate: str = "苏E00000") -> str:
        """Register and authenticate; return the auth code (raises if refused)."""
        reply = await self.register(plate)
        if reply.result != c.REG_OK:
            raise ConnectionRefusedError(f"registration of {self.phone}: result {reply.result}")
        answer = await self.authenticate(reply.auth_code)
        if answer.result != c.OK:
            raise ConnectionRefusedError(f"authentication of {self.phone}: result {answer.result}")
        return reply.auth_code


__all__ = ["V2013", "V2019", "Terminal", "circle_point", "location"]
