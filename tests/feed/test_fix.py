"""Payload rules (no database): times, numbers, CRS names, topic vehicles, bad JSON."""

from __future__ import annotations

import datetime as dt

import pytest

from etl.feed.fix import BadFix, from_payload, parse_time
from etl.feed.payload import fixes_of

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-06-10T08:30:00", dt.datetime(2026, 6, 10, 0, 30, tzinfo=UTC)),  # naive: Shanghai
        ("2026-06-10T00:30:00Z", dt.datetime(2026, 6, 10, 0, 30, tzinfo=UTC)),
        ("2026-06-10 08:30:00+08:00", dt.datetime(2026, 6, 10, 0, 30, tzinfo=UTC)),
        (1781051400123, dt.datetime(2026, 6, 10, 0, 30, 0, 123000, tzinfo=UTC)),
        ("1781051400123", dt.datetime(2026, 6, 10, 0, 30, 0, 123000, tzinfo=UTC)),
    ],
)
def test_times(value, expected):
    assert parse_time(value) == expected


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"t": 1781051400123, "lon": 121, "lat": 31}, "vehicle"),
        ({"vehicle": "a\x00b", "t": 1781051400123, "lon": 121, "lat": 31}, "vehicle"),
        ({"vehicle": "V", "t": 1781051400, "lon": 121, "lat": 31}, "t"),  # seconds, not ms
        ({"vehicle": "V", "t": "yesterday", "lon": 121, "lat": 31}, "t"),
        ({"vehicle": "V", "t": True, "lon": 121, "lat": 31}, "t"),
        ({"vehicle": "V", "t": 1781051400123, "lon": True, "lat": 31}, "lon"),
        ({"vehicle": "V", "t": 1781051400123, "lon": "nan", "lat": 31}, "lon"),
        ({"vehicle": "V", "t": 1781051400123, "lon": 121}, "lat"),
        ({"vehicle": "V", "t": 1781051400123, "lon": 121, "lat": 31, "speed": -1}, "speed"),
        ({"vehicle": "V", "t": 1781051400123, "lon": 121, "lat": 31, "heading": 400}, "heading"),
        ({"vehicle": "V", "t": 1781051400123, "lon": 121, "lat": 31, "crs": "cgcs"}, "crs"),
        ([1, 2], "(payload)"),
    ],
)
def test_bad_fields_are_named(payload, field):
    with pytest.raises(BadFix) as err:
        from_payload(payload)
    assert err.value.field == field


def test_message_arrays_topic_vehicle_and_bad_json():
    ok = {"t": 1781051400123, "lon": 121.3, "lat": 31.9, "crs": "GCJ02"}
    fixes, problems = fixes_of(b'[%s, {"lon": 1}]' % str(ok).replace("'", '"').encode(), "HM-1")
    assert [(f.vehicle, f.crs) for f in fixes] == [("HM-1", "gcj02")]
    assert problems == ["[1] lat: missing"]
    assert fixes_of(b"\xff\xfe", None)[1][0].startswith("(payload): not JSON")
