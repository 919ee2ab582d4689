"""Column names users give coordinates, and how names are compared: shared by the
tabular reader and the GPS importer (kept free of pandas so `onemap import
vehicle_positions` starts fast)."""

from __future__ import annotations

from typing import Any

X_NAMES = ("lon", "lng", "long", "longitude", "经度", "x", "东经", "x坐标", "经度坐标")
Y_NAMES = ("lat", "latitude", "纬度", "y", "北纬", "y坐标", "纬度坐标")


def normalise_name(name: Any) -> str:
    """A column name compared loosely: case, spaces and brackets do not matter."""
    return str(name).strip().lower().replace(" ", "").replace("(", "").replace(")", "")
