"""Parsing of single OGC API query parameters, for the front check (validate) and the tiles.

Every function raises InvalidParameter naming the parameter, so a bad request is
a 400 with a useful description before any SQL runs. `parse_datetime` is the one
`datetime` parser: items, one feature and tiles all use it.

Decisions: `limit` above ogc.max_limit is clamped (OGC permits it; next links
keep paging), `limit` <= 0 or non-numeric is 400. Times without an offset are
UTC (as in pygeoapi). A date instant (`2026-01-01`) means that whole UTC day.
Instants must lie between 0001-01-02 and 9999-12-30 (400 otherwise).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from gis_server.errors import InvalidParameter
from gis_server.ogc.crs import CRS84, Crs, bbox_to_crs84
from gis_server.ogc.source import Column, Source

_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no"}


@dataclass(frozen=True)
class TimeRange:
    """[lo, hi] (hi exclusive when hi_inclusive is False); None is an open end."""

    lo: dt.datetime | None
    hi: dt.datetime | None
    hi_inclusive: bool = True


def parse_int(value: str, parameter: str, minimum: int) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise InvalidParameter(parameter, f"must be an integer, got {value!r}") from None
    if number < minimum:
        raise InvalidParameter(parameter, f"must be >= {minimum}, got {number}")
    return number


def parse_limit(value: str | None, default: int, maximum: int) -> int:
    if value is None:
        return default
    return min(parse_int(value, "limit", 1), maximum)


def parse_bool(value: str, parameter: str) -> bool:
    v = value.strip().lower()
    if v in _TRUE:
        return True
    if v in _FALSE:
        return False
    raise InvalidParameter(parameter, f"must be true or false, got {value!r}")


def _float(value: str, parameter: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise InvalidParameter(parameter, f"{value!r} is not a number") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise InvalidParameter(parameter, f"{value!r} is not a finite number")
    return number


def parse_bbox(value: str, crs: Crs = CRS84) -> tuple[float, float, float, float]:
    """bbox (4 numbers, or 6 with heights ignored) in `crs`, returned as CRS84 lon/lat."""
    parts = value.split(",")
    if len(parts) not in (4, 6):
        raise InvalidParameter("bbox", f"needs 4 or 6 numbers, got {len(parts)}")
    nums = [_float(p.strip(), "bbox") for p in parts]
    if len(nums) == 6:
        if nums[2] > nums[5]:
            raise InvalidParameter("bbox", "minimum height is above maximum height")
        nums = [nums[0], nums[1], nums[3], nums[4]]
    a, b, c, d = nums
    if crs.lat_first:  # lat,lon,lat,lon on the wire
        a, b, c, d = b, a, d, c
    if a > c or b > d:
        raise InvalidParameter("bbox", "lower corner is above or right of the upper corner")
    xmin, ymin, xmax, ymax = crs.bounds
    if a < xmin or c > xmax or b < ymin or d > ymax:
        raise InvalidParameter("bbox", f"outside the valid range of {crs.uri}")
    return bbox_to_crs84(crs, a, b, c, d)  # type: ignore[return-value]


# Instants outside these are refused: a day's margin on either side keeps the window
# arithmetic (a whole day, an inclusive end's microsecond, a UTC offset) inside
# what Python's datetime can represent (years 1 to 9999).
EARLIEST = dt.datetime(1, 1, 2, tzinfo=dt.UTC)
LATEST = dt.datetime(9999, 12, 30, tzinfo=dt.UTC)


def _instant(text: str, parameter: str) -> tuple[dt.datetime, dt.datetime, bool]:
    """(start, end, end_inclusive) of one datetime or date."""
    text = text.strip()
    try:
        if len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
        else:
            moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidParameter(parameter, f"{text!r} is not an RFC 3339 date-time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    if not EARLIEST <= moment <= LATEST:
        raise InvalidParameter(
            parameter, f"{text!r} is outside {EARLIEST.date()} … {LATEST.date()}"
        )
    if len(text) == 10:  # a date: that whole UTC day
        return moment, moment + dt.timedelta(days=1), False
    return moment, moment, True


def parse_datetime(value: str, parameter: str = "datetime") -> TimeRange:
    """An instant, a closed interval `a/b`, or a half-open one (`../b`, `a/..`, `a/`)."""
    if "/" not in value:
        lo, hi, inclusive = _instant(value, parameter)
        return TimeRange(lo, hi, inclusive)
    parts = value.split("/")
    if len(parts) != 2:
        raise InvalidParameter(parameter, f"{value!r} has more than one '/'")
    start_text, end_text = (p.strip() for p in parts)
    lo = None if start_text in ("", "..") else _instant(start_text, parameter)[0]
    hi, inclusive = None, True
    if end_text not in ("", ".."):
        _, hi, inclusive = _instant(end_text, parameter)
    if lo is not None and hi is not None and (hi < lo or (hi == lo and not inclusive)):
        raise InvalidParameter(parameter, f"interval {value!r} ends before it starts")
    return TimeRange(lo, hi, inclusive)


def parse_value(column: Column, raw: str, parameter: str) -> object:
    """A property value typed per its column, so comparisons are bound with the right type."""
    if column.type == "integer":
        try:
            return int(raw)
        except ValueError:
            raise InvalidParameter(parameter, f"must be an integer, got {raw!r}") from None
    if column.type == "number":
        return _float(raw, parameter)
    if column.type == "boolean":
        return parse_bool(raw, parameter)
    if column.format == "date-time":
        return _instant(raw, parameter)[0]
    if column.format == "date":
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise InvalidParameter(parameter, f"{raw!r} is not a date (YYYY-MM-DD)") from None
    return raw


def parse_sortby(value: str, source: Source) -> list[tuple[str, bool]]:
    """`+a,-b,c` (or `a:A`, `b:D`) → [(name, ascending)]; unknown names are 400."""
    keys: list[tuple[str, bool]] = []
    for item in (s.strip() for s in value.split(",")):
        if not item:
            continue
        ascending = True
        if item[0] in "+-":
            ascending, item = item[0] == "+", item[1:]
        elif item.upper().endswith((":A", ":D")):
            ascending, item = item[-1].upper() == "A", item[:-2]
        if source.column(item) is None:
            raise InvalidParameter(
                "sortby", f"unknown property {item!r}; sortable: {', '.join(source.names)}"
            )
        keys.append((item, ascending))
    return keys


def parse_select(value: str, source: Source) -> list[str]:
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if source.column(n) is None]
    if unknown:
        raise InvalidParameter(
            "properties", f"unknown property {unknown[0]!r}; known: {', '.join(source.names)}"
        )
    return names
