"""JT/T 808 framing: escaping, checksum, headers (2013/2019), known byte vectors, stream splitting."""

from __future__ import annotations

import datetime as dt

import pytest

from etl.feed import jt808_codec as c
from etl.feed.jt808_frame import (
    V2013,
    V2019,
    FrameError,
    FrameSplitter,
    Header,
    checksum,
    decode_frame,
    decode_header,
    encode_frame,
    encode_header,
    escape,
    unescape,
)

# A 2013 location report written out by hand from Tables 2/23/24/25 of the
# standard: id 0200, properties 0x0025 (37-byte body), phone 013912345678,
# serial 7; alarm bit 0 (emergency); status ACC|located|south|west; lat
# 31.297864, lon 120.566244 (1e-6 deg); altitude 21 m; speed 500 (1/10 km/h);
# heading 270; time 24-03-15 08:30:05 GMT+8; items 0x01 mileage 1234 and
# 0x30 signal 25. Its checksum is 0x7d, which goes on the wire as 7d 01.
HAND_0200 = bytes.fromhex(
    "7e"
    "0200" "0025" "013912345678" "0007"
    "00000001" "0000000f" "01dd9148" "072fb1e4" "0015" "01f4" "010e" "240315083005"
    "0104000004d2" "300119"
    "7d01"
    "7e"
)  # fmt: skip

# A 2019 heartbeat: properties 0x4000 (version flag, empty body), protocol
# version 1, phone BCD[10], serial 0x007e (escaped as 7d 02), checksum 0x0d.
HAND_0002_2019 = bytes.fromhex("7e" "0002" "4000" "01" "00000000013912345678" "007d02" "0d" "7e")  # fmt: skip


def test_escape_example_of_the_standard():
    # §4.4.2: the content 30 7e 08 7d 55 is sent as 7e 30 7d 02 08 7d 01 55 7e
    assert escape(bytes.fromhex("307e087d55")) == bytes.fromhex("307d02087d0155")
    assert unescape(bytes.fromhex("307d02087d0155")) == bytes.fromhex("307e087d55")


@pytest.mark.parametrize("data", [b"", b"\x7e", b"\x7d", b"\x7d\x02", b"\x7e\x7d\x7e\x01\x02" * 9])
def test_escape_round_trip_and_no_flag_left(data):
    escaped = escape(data)
    assert b"\x7e" not in escaped
    assert unescape(escaped) == data


@pytest.mark.parametrize("bad", [b"\x01\x7d", b"\x7d\x03", b"\x7d\x7e", b"\x7d\x00\x01"])
def test_bad_escape_refused(bad):
    with pytest.raises(FrameError) as e:
        unescape(bad)
    assert e.value.reason == "bad_escape"


def test_checksum_is_xor():
    assert checksum(b"") == 0
    assert checksum(bytes([0x01, 0x02, 0x04])) == 0x07
    assert checksum(bytes([0xFF, 0xFF])) == 0


def test_hand_built_location_frame_is_read():
    header, body = decode_frame(HAND_0200[1:-1])
    assert (header.msg_id, header.phone, header.serial) == (0x0200, "13912345678", 7)
    assert (header.version, header.body_length, header.subpackaged) == (V2013, 37, False)
    loc = c.decode_location(body)
    assert loc.alarm == 1 and loc.located
    assert loc.lat == pytest.approx(-31.297864, abs=1e-9)
    assert loc.lon == pytest.approx(-120.566244, abs=1e-9)
    assert (loc.altitude, loc.speed, loc.heading) == (21, 50.0, 270)
    assert loc.t == dt.datetime(2024, 3, 15, 0, 30, 5, tzinfo=dt.UTC)
    assert loc.extras == {0x01: (1234).to_bytes(4, "big"), 0x30: b"\x19"}


def test_encoder_writes_the_hand_built_frame():
    loc = c.decode_location(decode_frame(HAND_0200[1:-1])[1])
    assert encode_frame(Header(0x0200, "13912345678", 7), c.encode_location(loc)) == HAND_0200


def test_hand_built_2019_heartbeat_is_read_and_written():
    header, body = decode_frame(HAND_0002_2019[1:-1])
    assert (header.msg_id, header.version, header.protocol_version) == (0x0002, V2019, 1)
    assert (header.phone, header.serial, body) == ("13912345678", 0x7E, b"")
    assert encode_frame(header, b"") == HAND_0002_2019


@pytest.mark.parametrize(
    ("version", "total", "size"), [(V2013, 0, 12), (V2013, 3, 16), (V2019, 0, 17), (V2019, 3, 21)]
)
def test_header_round_trip_and_sizes(version, total, size):
    h = Header(0x0704, "13800000001", 65535, 1023, version, 1 if version == V2019 else 0,
               total=total, index=total and 2)  # fmt: skip
    raw = encode_header(h)
    assert len(raw) == size
    assert decode_header(raw) == (h, size)
    assert (int.from_bytes(raw[2:4], "big") >> 13 & 1) == (total > 0)
    assert (int.from_bytes(raw[2:4], "big") >> 14 & 1) == (version == V2019)


def test_twenty_digit_phone_in_2019():
    h = Header(0x0002, "12345678901234567890", 1, 0, V2019, 1)
    assert decode_header(encode_header(h))[0].phone == "12345678901234567890"
    with pytest.raises(ValueError):
        encode_header(Header(0x0002, "1234567890123", 1))  # 13 digits do not fit BCD[6]


def test_body_with_flags_inside_round_trips():
    body = bytes([0x7E, 0x7D, 0x7E, 0x7E, 0x7D, 0x01, 0x02]) * 20
    frame = encode_frame(Header(0x0900, "13912345678", 0x7D7E), body)
    assert b"\x7e" not in frame[1:-1]
    header, decoded = decode_frame(frame[1:-1])
    assert decoded == body and header.serial == 0x7D7E


def test_bad_checksum_refused_with_its_header():
    frame = bytearray(encode_frame(Header(0x0002, "13912345678", 9)))
    frame[-2] ^= 0x01
    with pytest.raises(FrameError) as e:
        decode_frame(bytes(frame[1:-1]))
    assert e.value.reason == "bad_checksum"
    assert (e.value.header.serial, e.value.header.msg_id) == (9, 0x0002)


def test_truncated_and_wrong_length_refused():
    frame = encode_frame(Header(0x0200, "13912345678", 3), b"\x00" * 28)
    with pytest.raises(FrameError) as e:
        decode_frame(frame[1:8])
    assert e.value.reason == "truncated" and e.value.header is None
    raw = unescape(frame[1:-1])
    cut = raw[:-5]  # body shorter than its header says; checksum recomputed
    with pytest.raises(FrameError) as e:
        decode_frame(escape(cut + bytes([checksum(cut)])))
    assert e.value.reason == "bad_length" and e.value.header.serial == 3


def test_bad_bcd_phone_refused():
    raw = bytes.fromhex("0002" "0000" "0139123456ab" "0001")  # fmt: skip
    with pytest.raises(FrameError) as e:
        decode_frame(escape(raw + bytes([checksum(raw)])))
    assert e.value.reason == "bad_header"


def test_splitter_partial_several_and_garbage():
    a = encode_frame(Header(0x0002, "13912345678", 1))
    b = HAND_0200
    s = FrameSplitter()
    got = []
    stream = b"\x00garbage\x7d" + a + b + a
    for i in range(len(stream)):  # one byte per read
        got += s.feed(stream[i : i + 1])
    assert got == [a[1:-1], b[1:-1], a[1:-1]]
    assert s.garbage_bytes == len(b"\x00garbage\x7d")
    assert FrameSplitter().feed(stream) == got  # all in one read


def test_splitter_shared_flag_lost_start_and_oversize():
    a = encode_frame(Header(0x0002, "13912345678", 1))
    s = FrameSplitter(max_frame=64)
    assert s.feed(a + a[1:]) == [a[1:-1], a[1:-1]]  # 7e A 7e B 7e
    assert s.feed(b"\x7e" + b"\x01" * 65) == []
    assert s.feed(b"\x01" * 1000 + b"\x7e" + a[1:]) == [a[1:-1]]
    assert s.oversized == 1


def test_bad_escape_in_the_body_keeps_the_header():
    frame = encode_frame(Header(0x0200, "13912345678", 0x7E01), b"\x00" * 28)
    broken = frame[1:20] + b"\x7d\x07" + frame[20:-1]
    with pytest.raises(FrameError) as e:
        decode_frame(broken)
    assert e.value.reason == "bad_escape"
    assert (e.value.header.serial, e.value.header.msg_id) == (0x7E01, 0x0200)
    with pytest.raises(FrameError) as e:
        decode_frame(b"\x02\x00\x7d\x03" + frame[5:-1])  # inside the header: unreadable
    assert e.value.reason == "bad_escape" and e.value.header is None
