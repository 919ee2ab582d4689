"""Day tracks and trips derived behind the feed, off the acknowledgement path.

A fix must be stored, move its vehicle, go out as a NOTIFY and be judged by the
geofences before it is acknowledged; its vehicle-day's track and trips are derived
from the stored fixes, so `ingest()` only appends (code, day, first fix) to
`vehicle_derive_queue` (migration 0017) in the batch's transaction, and `catch_up()`
brings those vehicle-days up to date later, in chunks, in one REPEATABLE READ
transaction per chunk that also deletes the queue rows it served: a crash between
the two steps leaves the rows, and the next catch-up derives from the stored fixes.

The rule is `layers/live_tracks.py`'s and `layers/live_trips.py`'s (equal to a full
rebuild): the fixes after the track's end are appended, a fix at or before it (late)
rebuilds its vehicle-day. Catching up every `every_s` seconds rewrites each
vehicle-day's line once per round, not once per batch: the longer the rounds, the
more new points each rewrite carries. One catch-up at a time (an advisory lock), so
any number of feed processes may run a `Deriver`.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, fields

from layers.live_tracks import shanghai_day, track_ends, update_tracks
from layers.live_trips import update_trips
from layers.trips import TripRules

LOGGER = logging.getLogger("onemap.feed")
LOCK = "hashtext('onemap_feed_derive')"
DEFAULT_TRIPS = TripRules()

_ENQUEUE = """
INSERT INTO vehicle_derive_queue (vehicle_code, day, first_fix, fixes)
SELECT * FROM unnest(%(codes)s::text[], %(days)s::date[], %(firsts)s::timestamptz[],
                     %(counts)s::int[])
"""

# The oldest vehicle-days first; all their rows deleted (served by this transaction).
_TAKE = """
WITH pick AS (
    SELECT vehicle_code, day FROM vehicle_derive_queue
    GROUP BY vehicle_code, day ORDER BY min(id) LIMIT %(n)s
), served AS (
    DELETE FROM vehicle_derive_queue q USING pick p
    WHERE q.vehicle_code = p.vehicle_code AND q.day = p.day
    RETURNING q.vehicle_code, q.day, q.first_fix, q.fixes
)
SELECT vehicle_code, day, min(first_fix), sum(fixes)::int FROM served GROUP BY 1, 2 ORDER BY 1, 2
"""

# The stored fixes of each vehicle-day after its track's end (all of the day when none);
# lo/hi constants so the planner reads only those days' partitions.
_AFTER = """
SELECT b.code, p.fix_time, ST_X(p.geom), ST_Y(p.geom), p.speed_kmh
FROM unnest(%(codes)s::text[], %(days)s::date[], %(afters)s::timestamptz[]) AS b(code, day, after)
CROSS JOIN LATERAL (
    SELECT fix_time, geom, speed_kmh FROM vehicle_positions p
    WHERE p.vehicle_code = b.code
      AND p.fix_time >= (b.day::timestamp AT TIME ZONE 'Asia/Shanghai')
      AND p.fix_time < ((b.day + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
      AND (b.after IS NULL OR p.fix_time > b.after)
      AND p.fix_time >= %(lo)s AND p.fix_time < %(hi)s
) p
ORDER BY 1, 2
"""

_LAG = """
SELECT count(*), count(DISTINCT (vehicle_code, day)), coalesce(sum(fixes), 0),
       extract(epoch FROM clock_timestamp() - min(queued_at))::float8
FROM vehicle_derive_queue
"""


def enqueue(cur, inserted: list[tuple]) -> int:
    """Queue the vehicle-days of these just inserted (code, fix time, …) rows; in the
    batch's transaction. Returns the rows queued (one per vehicle-day)."""
    first: dict[tuple[str, dt.date], dt.datetime] = {}
    count: dict[tuple[str, dt.date], int] = defaultdict(int)
    for code, t, *_ in inserted:
        key = (code, shanghai_day(t))
        first[key] = min(first.get(key, t), t)
        count[key] += 1
    if not first:
        return 0
    keys = sorted(first)
    cur.execute(
        _ENQUEUE,
        {
            "codes": [k[0] for k in keys],
            "days": [k[1] for k in keys],
            "firsts": [first[k] for k in keys],
            "counts": [count[k] for k in keys],
        },
    )
    return len(keys)


@dataclass
class Caught:
    """One catch-up chunk: vehicle-days served, fixes they had queued, and how."""

    vehicle_days: int = 0
    fixes: int = 0
    tracks_appended: int = 0
    tracks_rebuilt: int = 0
    trips_updated: int = 0
    trips_rebuilt: int = 0
    busy: bool = False  # another catch-up holds the lock

    def add(self, other: Caught) -> None:
        for name in _COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))


_COUNTS = tuple(f.name for f in fields(Caught) if f.type == "int")


def _fixes_after(cur, keys, ends) -> list[tuple]:
    bounds = [
        dt.datetime.combine(d, dt.time(), dt.timezone(dt.timedelta(hours=8))) for _c, d in keys
    ]
    cur.execute(
        _AFTER,
        {
            "codes": [k[0] for k in keys],
            "days": [k[1] for k in keys],
            "afters": [ends[k][1] for k in keys],
            "lo": min(bounds),
            "hi": max(bounds) + dt.timedelta(days=1),
        },
    )
    return cur.fetchall()


def catch_up(conn, trips: TripRules | None = DEFAULT_TRIPS, max_days: int = 2000) -> Caught:
    """Derive the tracks and trips of up to `max_days` queued vehicle-days (oldest first)
    in one transaction of its own, committed when this returns. The connection must be
    idle (no transaction open). Raises the driver's error after rolling back."""
    done = Caught()
    try:
        with conn.cursor() as cur:
            # one snapshot for the queue, the track ends and the fixes read after them
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            cur.execute("SET LOCAL jit = off")
            cur.execute(f"SELECT pg_try_advisory_xact_lock({LOCK})")
            if not cur.fetchone()[0]:
                conn.rollback()
                return Caught(busy=True)
            cur.execute(_TAKE, {"n": max_days})
            taken = cur.fetchall()
            if taken:
                firsts = {(code, day): first for code, day, first, _n in taken}
                ends = track_ends(conn, firsts)
                keys = sorted(k for k, (f, e) in ends.items() if e is None or f > e)
                fixes = _fixes_after(cur, keys, ends) if keys else []
                if trips is not None:  # before the tracks move: both read the old ends
                    done.trips_updated, done.trips_rebuilt = update_trips(conn, ends, trips, fixes)
                done.tracks_appended, done.tracks_rebuilt = update_tracks(
                    conn, fixes, ends, move_vehicles=False
                )
                done.vehicle_days, done.fixes = len(taken), sum(n for *_k, n in taken)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return done


def catch_up_all(
    conn,
    trips: TripRules | None = DEFAULT_TRIPS,
    max_days: int = 2000,
    pause: Callable[[float], bool] | None = None,
) -> Caught:
    """catch_up() until the queue is empty (or another catch-up holds the lock); between
    chunks `pause(seconds the chunk took)` may wait, and stops the round by returning False."""
    total = Caught()
    while True:
        started = time.monotonic()
        step = catch_up(conn, trips, max_days)
        total.add(step)
        if step.busy or step.vehicle_days < max_days:
            total.busy = step.busy
            return total
        if pause is not None and not pause(time.monotonic() - started):
            return total


def lag(conn) -> dict:
    """The derived state's lag: queue rows, vehicle-days and fixes waiting, the oldest's age."""
    with conn.cursor() as cur:
        cur.execute(_LAG)
        rows, days, fixes, age = cur.fetchone()
    conn.rollback()
    return {
        "queued_vehicle_days": days,
        "queued_fixes": int(fixes),
        "queue_rows": rows,
        "lag_s": None if age is None else round(age, 1),
    }


class Deriver:
    """Catch up every `every_s` seconds on a connection of its own, reconnecting with
    back-off after a database error (the queue keeps what it missed). `run()` in the
    calling thread (the feed's derive process), `start()` in a thread of its own.

    A round works in chunks of `max_days` vehicle-days and rests after each as long as
    the chunk took × (1 − duty) / duty: on a small machine its bursts would otherwise
    take the CPU from the acknowledging path (the p99), and behind is allowed."""

    def __init__(
        self,
        dsn: str,
        trips: TripRules | None,
        every_s: float,
        connect: Callable[[str], object],
        max_days: int = 500,
        duty: float = 0.5,
    ) -> None:
        self.dsn, self.trips, self.every_s, self.max_days = dsn, trips, every_s, max_days
        self.rest = (1.0 - duty) / duty
        self.connect = connect
        self.stats = Caught()
        self.rounds, self.failures, self.last_round_s = 0, 0, 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> Deriver:
        self._thread = threading.Thread(target=self.run, name="onemap-derive", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def status(self) -> dict:
        s = self.stats
        return {
            "rounds": self.rounds,
            "last_round_s": round(self.last_round_s, 2),
            "failures": self.failures,
            "vehicle_days": s.vehicle_days,
            "fixes": s.fixes,
            "tracks_rebuilt": s.tracks_rebuilt,
            "trips_rebuilt": s.trips_rebuilt,
        }

    def _pause(self, took_s: float) -> bool:
        return not self._stop.wait(took_s * self.rest)

    def run(self, alive: Callable[[], bool] = lambda: True) -> None:
        """Until stop() or `alive()` turns false (the feed process that started it gone)."""
        conn, delay = None, 0.5
        while not self._stop.is_set() and alive():
            started = time.monotonic()
            try:
                if conn is None or conn.closed:
                    conn = self.connect(self.dsn)
                self.stats.add(catch_up_all(conn, self.trips, self.max_days, self._pause))
                self.rounds += 1
                self.last_round_s, delay = time.monotonic() - started, 0.5
            except Exception as exc:  # noqa: BLE001 - the queue keeps it; try again later
                self.failures += 1
                LOGGER.warning("feed: catching up tracks and trips failed, retrying: %s", exc)
                if conn is not None:
                    conn.close()
                conn = None
                self._stop.wait(delay)
                delay = min(delay * 2, 10.0)
                continue
            if self.rounds % 10 == 0:
                LOGGER.info("feed: derived %s", self.status())
            self._stop.wait(max(0.0, self.every_s - (time.monotonic() - started)))
        if conn is not None:
            conn.close()
