"""Cameras: 雪亮工程 street cameras, high-altitude towers, riverside cameras and body cams.

Street cameras and body cams follow people (grid population, so denser in
town centres); towers follow area (they watch fields for straw burning);
riverside cameras stand on the land strip along the Yangtze and North Branch.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from etl.demo.frame import Frame
from etl.demo.grids import Grids
from etl.demo.places import crossings
from etl.demo.towns import Towns

BASE = {"xueliang": 16_000, "body_cam": 3_000, "riverside": 700, "high_altitude": 300}
KIND_DIGIT = {"xueliang": 1, "high_altitude": 2, "riverside": 3, "body_cam": 4}


def scaled_counts(scale: float) -> dict[str, int]:
    return {k: max(1, round(v * scale)) for k, v in BASE.items()}


def _weights(frame: Frame, grids: Grids, kind: str) -> np.ndarray:
    if kind == "riverside":
        return np.where(frame.shore_km2 > 0.005, frame.shore_km2, 0.0)
    land_ok = frame.land_km2 > 0.01
    if kind == "high_altitude":
        return np.where(land_ok, frame.land_km2, 0.0)
    return np.where(land_ok, grids.population.astype(float), 0.0)


def _names(rng: np.random.Generator, kind: str, town_names: np.ndarray) -> np.ndarray:
    n = len(town_names)
    seq = np.arange(1, n + 1).astype(str).astype(object)
    if kind == "xueliang":
        return town_names + crossings(rng, n)
    if kind == "high_altitude":
        return town_names + "高空瞭望" + seq + "号点"
    if kind == "riverside":
        return town_names + "沿江岸线监控" + seq + "号"
    return town_names + "综合执法中队执法记录仪" + seq


def build_cameras(
    rng: np.random.Generator,
    frame: Frame,
    grids: Grids,
    towns: Towns,
    scale: float,
    anchor: dt.date,
    district_code: str = "320614",
) -> pd.DataFrame:
    """One row per camera, lon/lat inside its comprehensive grid (codes from the district's)."""
    parts = []
    start = 0
    for kind, n in scaled_counts(scale).items():
        w = _weights(frame, grids, kind)
        if w.sum() == 0:  # an inland district has no riverside
            continue
        which = rng.choice(len(w), size=n, p=w / w.sum())
        lon, lat = frame.sample(rng, which, shore=kind == "riverside")
        town = grids.town[which]
        status = rng.choice(
            ["online", "offline", "fault"],
            size=n,
            p=[0.6, 0.38, 0.02] if kind == "body_cam" else [0.93, 0.05, 0.02],
        )
        seq = np.arange(start + 1, start + n + 1)
        start += n
        a, b = rng.integers(1, 255, n), rng.integers(2, 254, n)
        days = (anchor - dt.date(2016, 1, 1)).days - 30
        parts.append(
            pd.DataFrame(
                {
                    "code": [f"{district_code}00001310{KIND_DIGIT[kind]}{s:05d}" for s in seq],
                    "name": _names(rng, kind, towns.name[town].astype(object)),
                    "kind": kind,
                    "stream_url": [
                        f"rtsp://10.{40 + KIND_DIGIT[kind]}.{x}.{y}:554/Streaming/Channels/101"
                        for x, y in zip(a, b, strict=True)
                    ],
                    "status": status,
                    "grid_code": grids.code[which],
                    "town_code": towns.code[town],
                    "installed_on": pd.Timestamp("2016-01-01")
                    + pd.to_timedelta(rng.integers(0, days, n), unit="D"),
                    "lon": lon,
                    "lat": lat,
                }
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["installed_on"] = out["installed_on"].dt.strftime("%Y-%m-%d")
    return out
