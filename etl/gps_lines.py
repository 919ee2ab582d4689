"""Tracks and trips of the days a GPS batch touched.

Fresh days (all their fixes are in the batch) get their lines built in memory
from the batch's arrays and their lengths measured on a second connection while
the partitions are indexed; days that held fixes before are rebuilt in SQL from
the table (`layers/tracks.py`, `layers/trips.py`).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import psycopg2

from etl.gps_read import Fixes
from layers.tracks import (
    line_lengths_km,
    rebuild_tracks,
    track_lines,
    update_last_positions,
    write_tracks,
)
from layers.trips import TripRules, rebuild_trips, trip_lines, vehicle_days, write_trips


@dataclass
class FreshLines:
    """Tracks and trips of the fresh days, built in memory from the batch."""

    vehicles: list[str]
    pairs: tuple[list[str], list[int]]
    tracks: list[tuple]
    trips: list[tuple]

    def all(self) -> list[bytes]:
        return [t[5] for t in self.tracks] + [t[6] for t in self.trips]


def fresh_lines(kept: Fixes, day: np.ndarray, fresh: np.ndarray, rules: TripRules) -> FreshLines:
    """The lines of the fresh days: all of those days' fixes are in the batch."""
    f, d = kept.take(fresh), day[fresh]
    xym = np.column_stack((f.lon, f.lat, f.t_us / 1e6))
    return FreshLines(
        vehicles=sorted({f.codes[i] for i in np.unique(f.code_idx)}),
        pairs=vehicle_days(f.codes, f.code_idx, d),
        tracks=track_lines(f.codes, f.code_idx, d, f.t_us, xym),
        trips=trip_lines(f.codes, f.code_idx, d, f.t_us, xym, f.speed, rules),
    )


def measure_lengths(dsn: str | None, conn, lines: FreshLines) -> Future:
    """The lines' lengths: on a second connection in a thread (the geodesic sums overlap the
    index builds on the first), or, without a connection string, right here."""
    if dsn is None:
        done: Future = Future()
        done.set_result(line_lengths_km(conn, lines.all()))
        return done

    def measure() -> list[float]:
        other = psycopg2.connect(dsn, application_name="onemap-etl-gps-lengths")
        try:
            return line_lengths_km(other, lines.all())
        finally:
            other.close()

    pool = ThreadPoolExecutor(max_workers=1)
    try:
        return pool.submit(measure)
    finally:
        pool.shutdown(wait=False)  # the thread runs on; the caller waits on the result


def write_fresh(conn, lines: FreshLines, lengths: list[float]) -> dict[str, int]:
    tracks = lines.tracks
    counts = {
        "tracks 轨迹": write_tracks(conn, tracks, lengths[: len(tracks)]),
        "trips 行程": write_trips(conn, lines.pairs, lines.trips, lengths[len(tracks) :]),
    }
    update_last_positions(conn, lines.vehicles)
    return counts


def rebuild_existing(
    conn, kept: Fixes, day: np.ndarray, fresh: np.ndarray, rules: TripRules
) -> dict[str, int]:
    """Days that held fixes before: tracks and trips rebuilt in SQL from the table."""
    vehicles = sorted({kept.codes[i] for i in np.unique(kept.code_idx[~fresh])})
    days = sorted({dt.date(1970, 1, 1) + dt.timedelta(days=int(x)) for x in np.unique(day[~fresh])})
    return {
        "tracks 轨迹": rebuild_tracks(conn, vehicles, days),
        "trips 行程": rebuild_trips(
            conn,
            vehicles,
            days,
            stop_minutes=rules.stop_minutes,
            gap_minutes=rules.gap_minutes,
            stop_speed_kmh=rules.stop_speed_kmh,
        ),
    }
