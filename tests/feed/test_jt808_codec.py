"""JT/T 808 message bodies: round trips, field sizes, BCD time, south/west bits, bad bodies."""

from __future__ import annotations

import datetime as dt

import pytest

from etl.feed import jt808_codec as c
from etl.feed.jt808_frame import V2013, V2019

# 0x0100 (2013) by hand: province 0x0020, city 0x0500, maker "ABCDE" (BYTE[5]),
# model "M1" padded to BYTE[20], terminal id "T000001" (BYTE[7]), plate colour 2,
# plate 苏E12345 in GBK.
HAND_0100 = bytes.fromhex(
    "0020" "0500" "4142434445" "4d31" + "00" * 18 + "54303030303031" "02" "cbd5453132333435"
)  # fmt: skip


def loc(lat, lon, **kw):
    t = kw.pop("t", dt.datetime(2026, 12, 4, 2, 0, 0, tzinfo=dt.UTC))
    return c.Location(kw.pop("alarm", 0), kw.pop("status", c.STATUS_LOCATED), lat, lon,
                      kw.pop("altitude", 5), kw.pop("speed", 36.5), kw.pop("heading", 359), t,
                      kw.pop("extras", {}))  # fmt: skip


def test_hand_built_registration_2013():
    r = c.decode_registration(HAND_0100, V2013)
    assert r == c.Registration(32, 0x0500, "ABCDE", "M1", "T000001", 2, "苏E12345")
    assert c.encode_registration(r, V2013) == HAND_0100


@pytest.mark.parametrize(("version", "fixed"), [(V2013, 37), (V2019, 76)])
def test_registration_round_trip_and_field_sizes(version, fixed):
    r = c.Registration(44, 300, "MAKER", "MODEL-X", "ID12345", 1, "粤B D1234")
    body = c.encode_registration(r, version)
    assert len(body) == fixed + len("粤B D1234".encode("gbk"))
    assert c.decode_registration(body, version) == r
    with pytest.raises(c.BodyError):  # (a 2013 body of 25-36 bytes is read as 2011's)
        c.decode_registration(body[: 24 if version == V2013 else fixed - 1], version)


def test_registration_reply_carries_code_only_on_success():
    ok = c.RegistrationReply(0x1234, c.REG_OK, "a1b2c3")
    assert c.encode_registration_reply(ok) == bytes.fromhex("123400") + b"a1b2c3"
    assert c.decode_registration_reply(c.encode_registration_reply(ok)) == ok
    no = c.RegistrationReply(5, c.REG_NO_TERMINAL, "ignored")
    assert c.encode_registration_reply(no) == bytes.fromhex("000504")


def test_authentication_2013_and_2019():
    a = c.Authentication("code-1", "860000013912345", "v2.1")
    assert c.encode_authentication(a, V2013) == b"code-1"
    assert c.decode_authentication(b"code-1", V2013) == c.Authentication("code-1")
    body = c.encode_authentication(a, V2019)
    assert body[0] == 6 and len(body) == 1 + 6 + 15 + 20
    assert c.decode_authentication(body, V2019) == a
    with pytest.raises(c.BodyError):
        c.decode_authentication(body[:-1], V2019)


def test_general_response():
    r = c.GeneralResponse(0xFFFE, 0x0200, c.BAD_MESSAGE)
    assert c.encode_response(r) == bytes.fromhex("fffe020002")
    assert c.decode_response(c.encode_response(r)) == r
    with pytest.raises(c.BodyError):
        c.decode_response(b"\x00\x01")


@pytest.mark.parametrize(
    ("lat", "lon"), [(31.3, 120.6), (-33.86, 151.2), (51.5, -0.12), (-22.9, -43.2)]
)
def test_location_round_trip_sets_south_and_west(lat, lon):
    body = c.encode_location(loc(lat, lon))
    status = int.from_bytes(body[4:8], "big")
    assert bool(status & c.STATUS_SOUTH) == (lat < 0)
    assert bool(status & c.STATUS_WEST) == (lon < 0)
    assert int.from_bytes(body[8:12], "big") == round(abs(lat) * 1e6)
    back = c.decode_location(body)
    assert (back.lat, back.lon) == (pytest.approx(lat, abs=1e-6), pytest.approx(lon, abs=1e-6))
    assert (back.speed, back.heading, back.altitude) == (36.5, 359, 5)


def test_bcd_time_is_gmt8():
    assert c.decode_bcd_time(bytes.fromhex("240101080000")) == dt.datetime(
        2024, 1, 1, tzinfo=dt.UTC
    )
    assert c.decode_bcd_time(bytes.fromhex("240101070000")) == dt.datetime(
        2023, 12, 31, 23, tzinfo=dt.UTC
    )
    t = dt.datetime(2026, 6, 30, 17, 59, 58, tzinfo=dt.UTC)
    assert c.encode_bcd_time(t) == bytes.fromhex("260701015958")
    assert c.decode_bcd_time(c.encode_bcd_time(t)) == t


@pytest.mark.parametrize("raw", ["241301000000", "2401010a0000", "240230120000", "240101246000"])
def test_bad_bcd_time_refused(raw):
    with pytest.raises(c.BodyError):
        c.decode_bcd_time(bytes.fromhex(raw))


def test_additional_items_kept_raw_and_truncated_tail_ignored():
    body = c.encode_location(loc(30.0, 120.0, extras={0x01: b"\x00\x00\x00\x10", 0xF0: b"x" * 8}))
    assert c.decode_location(body).extras == {0x01: b"\x00\x00\x00\x10", 0xF0: b"x" * 8}
    truncated = c.encode_location(loc(30.0, 120.0)) + bytes([0x31, 5, 1, 2])
    back = c.decode_location(truncated)
    assert back.extras == {} and back.lat == pytest.approx(30.0)
    with pytest.raises(c.BodyError):
        c.decode_location(body[:27])


def test_batch_round_trip_and_refusals():
    items = [loc(30 + i / 100, 120 + i / 100, speed=i) for i in range(5)]
    b = c.BatchLocation(1, items)
    body = c.encode_batch(b)
    assert body[:3] == bytes.fromhex("000501")
    assert int.from_bytes(body[3:5], "big") == 28  # each item length-prefixed
    assert c.decode_batch(body) == b
    with pytest.raises(c.BodyError):
        c.decode_batch(body[:-3])  # last item cut
    with pytest.raises(c.BodyError):
        c.decode_batch(body + b"\x00")  # bytes after the counted items
    with pytest.raises(c.BodyError):
        c.decode_batch(bytes.fromhex("0002000003") + b"\x00" * 3)  # item shorter than a report


def test_2011_registration_read_from_a_2013_header():
    r = c.Registration(32, 500, "ABCDE", "OLD-8", "T000001", 1, "苏E7")
    body = c.encode_registration(r, c.V2011_REGISTRATION)
    assert len(body) == 25 + 4  # 苏 is two bytes in GBK
    assert c.decode_registration(body, V2013) == r
    with pytest.raises(c.BodyError):
        c.decode_registration(body[:24], V2013)


def test_time_reply_is_utc():
    t = dt.datetime(2026, 12, 4, 2, 50, 1, tzinfo=dt.UTC)
    assert c.encode_time_reply(t) == bytes.fromhex("261204025001")
    assert c.decode_time_reply(bytes.fromhex("261204025001")) == t
