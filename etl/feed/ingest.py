"""`ingest(conn, fixes)`: one batch of live fixes into PostGIS in one transaction.

Every feed (MQTT, HTTP batches, JT/T 808 terminals) calls this. In order:
CRS to WGS84 (GCJ-02/BD-09 inverted exactly), the checks of `checks.py`,
the day partitions the batch needs, COPY to a staging table and one INSERT …
ON CONFLICT DO NOTHING (the (vehicle_code, fix_time) key), vehicles moved to
their newest fix only when it is newer (a late fix lands in its place in time
and moves nobody back), the vehicle-days queued for their tracks and trips
(derived behind, `etl/feed/derive.py`), a NOTIFY of what moved and the
geofences. When it returns,
the batch is committed — only then may a feed acknowledge it. On any database
error it rolls back and raises (the caller keeps the batch and retries).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from etl.feed import store
from etl.feed.checks import REASONS, Candidate, check_values, in_extent, judge_speeds, to_wgs84
from etl.feed.derive import enqueue
from etl.feed.fix import Fix
from etl.feed.notify import notify
from layers import geofences
from layers.geofences import NightBan
from layers.trips import TripRules

WORLD = (-180.0, -90.0, 180.0, 90.0)


@dataclass(frozen=True)
class FeedRules:
    """The configured extent and the fastest believable speed per vehicle kind."""

    extent: tuple[float, float, float, float] = WORLD
    max_speed_kmh: dict[str, float] = field(default_factory=lambda: {"default": 150.0})
    geofences: bool = True  # judge layers/geofences.py's rules on every moved vehicle
    night_ban: NightBan = NightBan()  # 禁捕区 at night: who, when
    trips: TripRules | None = field(default_factory=TripRules)  # for the Deriver; None: none

    def limit(self, kind: str | None) -> float:
        return float(
            self.max_speed_kmh.get(kind or "default", self.max_speed_kmh.get("default", 150.0))
        )


@dataclass
class IngestResult:
    """What became of a batch: counts, and each dropped fix's (index, reason, detail)."""

    received: int = 0
    stored: int = 0
    moved: int = 0  # vehicles whose latest position advanced
    dropped: Counter = field(default_factory=Counter)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)
    queued: int = 0  # vehicle-days queued for their tracks and trips (etl/feed/derive.py)
    notifications: int = 0
    alerts: list[dict] = field(default_factory=list)  # geofence episodes opened or closed

    def drop(self, index: int, reason: str, detail: str = "") -> None:
        self.dropped[reason] += 1
        self.rejected.append((index, reason, detail))

    def counts(self) -> dict[str, int]:
        return {
            "received": self.received,
            "stored": self.stored,
            "moved": self.moved,
            **{reason: self.dropped.get(reason, 0) for reason in REASONS},
            "queued": self.queued,
        }


def _candidates(
    cur, fixes: Sequence[Fix], rules: FeedRules, result: IngestResult
) -> tuple[list[Candidate], dict[str, str | None]]:
    """Fixes that pass the checks needing no stored fix: values, extent, vehicle, batch dups."""
    wgs84 = to_wgs84(list(fixes))
    codes, kinds = store.vehicles(cur, [f.vehicle for f in fixes])
    seen: set[tuple[str, object]] = set()
    out: list[Candidate] = []
    for i, (fix, (lon, lat)) in enumerate(zip(fixes, wgs84, strict=True)):
        if why := check_values(fix):
            result.drop(i, "invalid", why)
        elif not in_extent(lon, lat, rules.extent):
            result.drop(i, "out_of_extent", f"{lon:.6f},{lat:.6f}")
        elif (code := codes.get(fix.vehicle)) is None:
            result.drop(i, "unknown_vehicle", fix.vehicle)
        elif (code, fix.t) in seen:
            result.drop(i, "duplicate", "earlier in the batch")
        else:
            seen.add((code, fix.t))
            out.append(Candidate(i, code, fix.t, lon, lat, fix.speed, fix.heading))
    return out, kinds


def _judge(
    cur,
    cands: list[Candidate],
    kinds: dict[str, str | None],
    rules: FeedRules,
    result: IngestResult,
) -> list[Candidate]:
    """Drop fixes already stored and impossible jumps; the rest, sorted by (code, time)."""
    if not cands:
        return []
    stored, prev = store.stored_around(cur, cands)
    fresh = []
    for c in cands:
        if c.index in stored:
            result.drop(c.index, "duplicate", "already stored")
        else:
            fresh.append(c)
    fresh.sort(key=lambda c: (c.code, c.t))
    limits = {c.code: rules.limit(kinds.get(c.code)) for c in fresh}
    kept, fast = judge_speeds(fresh, prev, limits)
    for c in fast:
        result.drop(c.index, "impossible_speed", f"faster than {limits[c.code]:g} km/h")
    return kept


def ingest(conn, fixes: Sequence[Fix], rules: FeedRules | None = None) -> IngestResult:
    """Check and store one batch in one transaction, committed when this returns; the
    connection (psycopg 3, or psycopg2 on today's request paths) must not be in
    autocommit. Raises the driver's error after rolling back."""
    rules = rules or FeedRules()
    result = IngestResult(received=len(fixes))
    try:
        with conn.cursor() as cur:
            # small statements whose estimates look big (the track arrays): JIT would
            # spend a second compiling what runs in milliseconds
            cur.execute("SET LOCAL jit = off")
            cands, kinds = _candidates(cur, fixes, rules, result)
            kept = _judge(cur, cands, kinds, rules, result)
            if kept:
                store.ensure_partitions(cur, [c.t for c in kept])
                inserted, moved = store.write(cur, kept)
                result.stored, result.moved = len(inserted), len(moved)
                raced = len(kept) - len(inserted)  # stored by another writer meanwhile
                if raced:
                    result.dropped["duplicate"] += raced
                result.queued = enqueue(cur, inserted)
                if moved:
                    result.notifications = notify(cur, "vehicles", "fixes", moved)
                if rules.geofences and (changes := geofences.judge(cur, moved, rules.night_ban)):
                    result.alerts = changes
                    result.notifications += notify(cur, "geofence", "alerts", changes)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    result.rejected.sort()
    return result
