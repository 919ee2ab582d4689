"""GCJ-02 ("Mars", AMap/Tencent) and BD-09 (Baidu) coordinates: forward and exact inverse.

Neither is an EPSG CRS: both are obfuscations applied to WGS84 lon/lat. The
forward formulas are public; the inverse has no closed form, so it is solved
by fixed-point iteration until the residual is below ~1e-9 degrees (sub-
millimetre), instead of the common one-step approximation that is off by
metres. Everything is numpy-vectorised (arrays in, arrays out).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

_A = 6378245.0  # Krasovsky 1940 semi-major axis used by GCJ-02
_EE = 0.00669342162296594323  # its first eccentricity squared
_X_PI = np.pi * 3000.0 / 180.0

Array = np.ndarray


def _in_china(lon: Array, lat: Array) -> Array:
    """GCJ-02 is only applied inside this box; outside, coordinates are plain WGS84."""
    return (lon >= 72.004) & (lon <= 137.8347) & (lat >= 0.8293) & (lat <= 55.8271)


def _delta(lon: Array, lat: Array) -> tuple[Array, Array]:
    x, y = lon - 105.0, lat - 35.0
    dlat = (
        -100.0
        + 2.0 * x
        + 3.0 * y
        + 0.2 * y * y
        + 0.1 * x * y
        + 0.2 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
        + (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    )
    dlon = (
        300.0
        + x
        + 2.0 * y
        + 0.1 * x * x
        + 0.1 * x * y
        + 0.1 * np.sqrt(np.abs(x))
        + (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
        + (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
        + (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    )
    rad = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(rad) ** 2
    sqrt_magic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrt_magic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrt_magic * np.cos(rad) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon: Array, lat: Array) -> tuple[Array, Array]:
    lon, lat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    dlon, dlat = _delta(lon, lat)
    inside = _in_china(lon, lat)
    return np.where(inside, lon + dlon, lon), np.where(inside, lat + dlat, lat)


def gcj02_to_bd09(lon: Array, lat: Array) -> tuple[Array, Array]:
    x, y = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def wgs84_to_bd09(lon: Array, lat: Array) -> tuple[Array, Array]:
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def _invert(
    forward: Callable[[Array, Array], tuple[Array, Array]],
    lon: Array,
    lat: Array,
    tol: float = 1e-10,
    max_iter: int = 50,
) -> tuple[Array, Array]:
    """Solve forward(x) = target by fixed-point iteration (the offset field is smooth)."""
    tlon, tlat = np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
    x, y = tlon.copy(), tlat.copy()
    for _ in range(max_iter):
        fx, fy = forward(x, y)
        ex, ey = fx - tlon, fy - tlat
        x, y = x - ex, y - ey
        if np.nanmax(np.abs(ex), initial=0.0) < tol and np.nanmax(np.abs(ey), initial=0.0) < tol:
            break
    return x, y


def gcj02_to_wgs84(lon: Array, lat: Array) -> tuple[Array, Array]:
    return _invert(wgs84_to_gcj02, lon, lat)


def bd09_to_wgs84(lon: Array, lat: Array) -> tuple[Array, Array]:
    return _invert(wgs84_to_bd09, lon, lat)


TO_WGS84: dict[str, Callable[[Array, Array], tuple[Array, Array]]] = {
    "gcj02": gcj02_to_wgs84,
    "bd09": bd09_to_wgs84,
}
FROM_WGS84: dict[str, Callable[[Array, Array], tuple[Array, Array]]] = {
    "gcj02": wgs84_to_gcj02,
    "bd09": wgs84_to_bd09,
}
