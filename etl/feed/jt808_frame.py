"""JT/T 808 framing: 0x7e delimiters, escaping, XOR checksum and the message header.

A frame on the wire is ``7e | header | body | checksum | 7e`` where header, body
and checksum are escaped (0x7e -> 7d 02, 0x7d -> 7d 01). The checksum is the
XOR of every header and body byte before escaping. The header (JT/T 808-2013
§4.4.3, 2019 §4.5.3):

    WORD  message id
    WORD  properties: bits 0-9 body length, 10-12 encryption, 13 subpackage,
          14 version flag (2019: 1), 15 reserved
    BYTE  protocol version (2019 only; 1 for the 2019 edition)
    BCD   terminal phone: BCD[6] (2013) or BCD[10] (2019)
    WORD  message serial number
    WORD  total packages, WORD package index (only with the subpackage bit)

so 12/16 bytes in 2013 and 17/21 bytes in 2019.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import reduce
from operator import xor

FLAG = 0x7E
ESCAPE = 0x7D
MAX_BODY = 0x03FF  # 10-bit body length
V2013 = 2013
V2019 = 2019


class FrameError(ValueError):
    """A frame that cannot be read; `header` is set when the header itself was readable."""

    def __init__(self, reason: str, message: str, header: Header | None = None, at: int = -1):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.header = header
        self.at = at  # where in the escaped bytes (bad escapes)


def escape(data: bytes) -> bytes:
    """Escape 0x7d and 0x7e inside a frame (0x7d first, so nothing is escaped twice)."""
    return data.replace(b"\x7d", b"\x7d\x01").replace(b"\x7e", b"\x7d\x02")


def unescape(data: bytes) -> bytes:
    """Undo `escape`; a 0x7d followed by anything but 01/02 (or by nothing) is refused."""
    if b"\x7d" not in data:
        return data
    out = bytearray()
    i, n = 0, len(data)
    while i < n:
        b = data[i]
        if b != ESCAPE:
            out.append(b)
            i += 1
            continue
        nxt = data[i + 1] if i + 1 < n else None
        if nxt == 0x01:
            out.append(ESCAPE)
        elif nxt == 0x02:
            out.append(FLAG)
        else:
            raise FrameError("bad_escape", f"0x7d followed by {nxt!r} at byte {i}", at=i)
        i += 2
    return bytes(out)


def checksum(data: bytes) -> int:
    """XOR of all bytes (header and body, unescaped)."""
    return reduce(xor, data, 0)


def bcd_encode(digits: str, size: int) -> bytes:
    """Decimal digits as BCD[size], left-padded with zeros."""
    if not digits.isdigit() or len(digits) > size * 2:
        raise ValueError(f"{digits!r} does not fit BCD[{size}]")
    return bytes.fromhex(digits.rjust(size * 2, "0"))


def bcd_decode(data: bytes) -> str:
    """BCD bytes as a digit string; a nibble above 9 is refused."""
    text = data.hex()
    if not text.isdigit():
        raise ValueError(f"not BCD: {text}")
    return text


@dataclass(frozen=True)
class Header:
    """A message header; `phone` is the terminal number without leading zeros."""

    msg_id: int
    phone: str
    serial: int
    body_length: int = 0
    version: int = V2013
    protocol_version: int = 0
    encryption: int = 0
    total: int = 0  # subpackage count (0: not subpackaged)
    index: int = 0  # 1-based package index

    @property
    def subpackaged(self) -> bool:
        return self.total > 0

    def reply(self, msg_id: int, serial: int, body_length: int) -> Header:
        """The header of a platform message to this terminal, in its edition."""
        return Header(msg_id, self.phone, serial, body_length, self.version, self.protocol_version)


def encode_header(h: Header) -> bytes:
    """Header bytes for `h` (the body length is `h.body_length`)."""
    if not 0 <= h.body_length <= MAX_BODY:
        raise ValueError(f"body of {h.body_length} bytes exceeds {MAX_BODY}")
    props = h.body_length | (h.encryption & 0x7) << 10
    if h.subpackaged:
        props |= 1 << 13
    if h.version == V2019:
        props |= 1 << 14
        head = (
            h.msg_id.to_bytes(2, "big")
            + props.to_bytes(2, "big")
            + bytes([h.protocol_version])
            + bcd_encode(h.phone, 10)
        )
    else:
        head = h.msg_id.to_bytes(2, "big") + props.to_bytes(2, "big") + bcd_encode(h.phone, 6)
    head += h.serial.to_bytes(2, "big")
    if h.subpackaged:
        head += h.total.to_bytes(2, "big") + h.index.to_bytes(2, "big")
    return head


def decode_header(data: bytes) -> tuple[Header, int]:
    """The header at the start of `data` and its length in bytes."""
    if len(data) < 4:
        raise FrameError("truncated", f"{len(data)} bytes, no header")
    msg_id = int.from_bytes(data[0:2], "big")
    props = int.from_bytes(data[2:4], "big")
    is_2019 = bool(props & 1 << 14)
    sub = bool(props & 1 << 13)
    pos, proto, phone_size = 4, 0, 6
    if is_2019:
        proto, pos, phone_size = (data[4] if len(data) > 4 else 0), 5, 10
    size = pos + phone_size + 2 + (4 if sub else 0)
    if len(data) < size:
        raise FrameError("truncated", f"{len(data)} bytes, header needs {size}")
    try:
        digits = bcd_decode(data[pos : pos + phone_size])
    except ValueError as e:
        raise FrameError("bad_header", f"terminal phone {e}") from None
    pos += phone_size
    serial = int.from_bytes(data[pos : pos + 2], "big")
    total = index = 0
    if sub:
        total = int.from_bytes(data[pos + 2 : pos + 4], "big")
        index = int.from_bytes(data[pos + 4 : pos + 6], "big")
    header = Header(
        msg_id=msg_id,
        phone=digits.lstrip("0") or "0",
        serial=serial,
        body_length=props & MAX_BODY,
        version=V2019 if is_2019 else V2013,
        protocol_version=proto,
        encryption=props >> 10 & 0x7,
        total=total,
        index=index,
    )
    return header, size


def encode_frame(header: Header, body: bytes = b"") -> bytes:
    """A complete frame, delimiters included; the header's body length is set from `body`."""
    if header.body_length != len(body):
        header = replace(header, body_length=len(body))
    raw = encode_header(header) + body
    return b"\x7e" + escape(raw + bytes([checksum(raw)])) + b"\x7e"


def decode_frame(escaped: bytes) -> tuple[Header, bytes]:
    """Header and body of one frame given without its 0x7e delimiters."""
    try:
        raw = unescape(escaped)
    except FrameError as e:
        e.header = _header_before(escaped[: e.at])
        raise
    if len(raw) < 13:
        raise FrameError("truncated", f"{len(raw)} bytes is shorter than any frame")
    header, size = decode_header(raw[:-1])
    body = raw[size:-1]
    if checksum(raw[:-1]) != raw[-1]:
        raise FrameError("bad_checksum", f"checksum {raw[-1]:#04x} does not match", header)
    if len(body) != header.body_length:
        raise FrameError(
            "bad_length", f"body is {len(body)} bytes, header says {header.body_length}", header
        )
    return header, body


def _header_before(escaped: bytes) -> Header | None:
    """The header of a frame broken after it (so the terminal can be told), else None."""
    try:
        return decode_header(unescape(escaped))[0]
    except FrameError:
        return None


class FrameSplitter:
    """Cuts a byte stream into frames (still escaped, delimiters dropped).

    Bytes before the first 0x7e are garbage and dropped. Every 0x7e ends the
    segment before it, so ``7e A 7e 7e B 7e`` and ``7e A 7e B 7e`` both give A
    and B, and a lost start flag costs one frame, not the stream. A segment
    longer than `max_frame` is dropped up to the next 0x7e and counted.
    """

    def __init__(self, max_frame: int = 4096):
        self.max_frame = max_frame
        self._buf = bytearray()
        self._synced = False
        self._skipping = False
        self.oversized = 0
        self.garbage_bytes = 0

    def feed(self, data: bytes) -> list[bytes]:
        frames: list[bytes] = []
        start = 0
        while start < len(data):
            end = data.find(b"\x7e", start)
            chunk = data[start:] if end < 0 else data[start:end]
            self._take(chunk)
            if end < 0:
                break
            self._close(frames)
            start = end + 1
        return frames

    def _take(self, chunk: bytes) -> None:
        if not self._synced:
            self.garbage_bytes += len(chunk)
        elif not self._skipping:
            self._buf += chunk
            if len(self._buf) > self.max_frame:
                self.oversized += 1
                self._buf.clear()
                self._skipping = True

    def _close(self, frames: list[bytes]) -> None:
        if self._synced and not self._skipping and self._buf:
            frames.append(bytes(self._buf))
        self._buf.clear()
        self._synced = True
        self._skipping = False
