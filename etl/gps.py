"""GPS fixes at feed speed: read the file in Python (pyarrow), check, dedupe and judge
jumps in numpy, bulk-load the day partitions by binary COPY, and build the tracks
and trips of the vehicles and days touched from the same in-memory arrays.

Checks, in order (each dropped fix is counted once, under the first it fails):
invalid (no vehicle, unparseable time, missing or out-of-range coordinates),
out_of_extent, duplicate (same vehicle and fix time earlier in the batch or
already stored), jump (implied speed from the vehicle's previous fix above the
per-kind maximum; a lone spike is judged against both neighbours first, so the
fix after a spike is not lost). Late and out-of-order fixes are fine: the
previous fix is looked up over batch and stored fixes together.

Days without a partition get a fresh one, filled unindexed, indexed once and
attached; their tracks and trips are built from the batch in memory (all of
those days' fixes are in it). Days already holding fixes get an INSERT … ON
CONFLICT DO NOTHING and their tracks and trips rebuilt in SQL from the table.
"""

from __future__ import annotations

import datetime as dt
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg2
import psycopg2.errors
from psycopg2 import sql

from etl import importlog
from etl.errors import EtlError, UsageError
from etl.gps_checks import INVALID, OK, OUT_OF_EXTENT, classify, judge, stored_fixes
from etl.gps_read import NO_DST_SINCE_US, SHANGHAI_US, Fixes, read_fixes
from etl.report import ImportResult
from layers.pgbinary import copy_binary, encode_positions
from layers.tracks import (
    line_lengths_km,
    rebuild_tracks,
    track_lines,
    update_last_positions,
    write_tracks,
)
from layers.trips import TripRules, rebuild_trips, trip_lines, vehicle_days, write_trips

DAY_US = 86_400_000_000
_COLUMNS = "(vehicle_code, fix_time, speed_kmh, heading, geom)"


@dataclass
class GpsOptions:
    max_speed_kmh: dict[str, float] = field(default_factory=lambda: {"default": 150.0})
    stop_minutes: float = 5.0
    gap_minutes: float = 10.0
    stop_speed_kmh: float = 3.0
    extent: tuple[float, float, float, float] | None = None
    crs: str | None = None
    user: str | None = None
    job: str | None = None
    dry_run: bool = False
    rebuild: bool = True  # tracks and trips of the touched vehicles/days


class Phases:
    """Wall time per import phase (seconds), kept in import_log.details for operators."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def done(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = round(self.seconds.get(name, 0.0) + now - self._last, 3)
        self._last = now


@dataclass
class Day:
    """One Asia/Shanghai day of the batch and its partition."""

    ordinal: int  # days since 1970-01-01
    part: str
    lo: dt.datetime
    hi: dt.datetime
    fresh: bool  # no partition yet and nothing of it in the default partition


def shanghai_day(t_us: np.ndarray) -> np.ndarray:
    """The Asia/Shanghai day (days since 1970-01-01) of each fix: its partition and track."""
    if not len(t_us) or t_us.min() >= NO_DST_SINCE_US:
        return (t_us + SHANGHAI_US) // DAY_US
    import pandas as pd  # rare: fixes from before 1992 (pandas takes 0.5 s to import)

    local = pd.DatetimeIndex(pd.to_datetime(t_us, unit="us", utc=True)).tz_convert("Asia/Shanghai")
    return local.tz_localize(None).values.astype("datetime64[D]").astype(np.int64)


def _max_kmh(cur, codes: list[str], limits: dict[str, float]) -> np.ndarray:
    """Each vehicle's fastest believable speed, by its kind (unknown vehicle or kind: default)."""
    cur.execute("SELECT code, kind FROM vehicles WHERE code = ANY(%s)", (codes,))
    kinds = dict(cur.fetchall())
    default = float(limits.get("default", 150.0))
    return np.array(
        [
            float(limits[k]) if (k := kinds.get(c)) in limits and k != "default" else default
            for c in codes
        ],
        dtype=np.float64,
    )


def _sorted(f: Fixes) -> Fixes:
    """By vehicle then time (ties in file order): the order of the checks, tracks, trips
    and the partitions' primary key."""
    return f.take(np.lexsort((f.t_us, f.code_idx)))


_DAYS = """
SELECT x, 'vehicle_positions_' || to_char(d, 'YYYYMMDD'), lo, hi,
       to_regclass('vehicle_positions_' || to_char(d, 'YYYYMMDD')) IS NULL
       AND NOT EXISTS (SELECT 1 FROM vehicle_positions_default WHERE fix_time >= lo AND fix_time < hi)
FROM unnest(%s::int[]) x,
     LATERAL (SELECT date '1970-01-01' + x AS d) d,
     LATERAL (SELECT (d::timestamp AT TIME ZONE 'Asia/Shanghai') AS lo,
                     ((d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai') AS hi) b
ORDER BY x
"""


def _days(cur, ordinals: np.ndarray) -> list[Day]:
    cur.execute(_DAYS, ([int(d) for d in ordinals],))
    return [Day(*row) for row in cur.fetchall()]


def reserve_ids(dsn: str, count: int) -> int | None:
    """First of `count` consecutive vehicle_positions ids, taken from its sequence at once;
    None when the sequence is busy (the rows then take nextval() one by one).

    Why: nextval() per row is a third of the COPY. The block is reserved in its own short
    transaction on a second connection (ALTER SEQUENCE blocks others' nextval() until
    commit, which must not last the whole import); like nextval(), it is never given back.
    The lock wait is bounded: a transaction holding the sequence could be waiting on this
    import, and that cycle through two connections is no deadlock the server would see.
    """
    conn = psycopg2.connect(dsn, application_name="onemap-etl-gps-ids")
    try:
        with conn, conn.cursor() as cur:
            cur.execute("SET LOCAL lock_timeout = '2s'")
            cur.execute("SELECT pg_get_serial_sequence('vehicle_positions', 'id')")
            name = cur.fetchone()[0]
            seq = sql.SQL(name)  # already quoted by the server
            cur.execute(
                sql.SQL("ALTER SEQUENCE {} INCREMENT BY {}").format(seq, sql.Literal(count))
            )
            cur.execute("SELECT nextval(%s)", (name,))
            last = cur.fetchone()[0]
            cur.execute(sql.SQL("ALTER SEQUENCE {} INCREMENT BY 1").format(seq))
        return last - count + 1
    except psycopg2.errors.LockNotAvailable:
        return None
    finally:
        conn.close()


def _copy_rows(cur, target: str, f: Fixes, first_id: int | None = None) -> None:
    codes = [c.encode("utf-8") for c in f.codes]
    ids = None if first_id is None else first_id + np.arange(len(f), dtype=np.int64)
    chunks = encode_positions(codes, f.code_idx, f.t_us, f.lon, f.lat, f.speed, f.heading, ids)
    columns = _COLUMNS if ids is None else "(id, " + _COLUMNS[1:]
    copy_binary(cur, f"{target} {columns}", chunks)


_BUILD = (
    "ALTER TABLE {t} ADD PRIMARY KEY (vehicle_code, fix_time)",
    "CREATE INDEX ON {t} USING gist (geom)",
    "CREATE INDEX ON {t} (fix_time)",
    "CREATE INDEX ON {t} (id)",
    "ALTER TABLE {t} ADD CONSTRAINT {c} CHECK ({w})",  # lets ATTACH skip its scan
    "ALTER TABLE vehicle_positions ATTACH PARTITION {t} FOR VALUES FROM ({lo}) TO ({hi})",
    "ALTER TABLE {t} DROP CONSTRAINT {c}",
)


def _build_partition(cur, day: Day, f: Fixes, first_id: int | None) -> None:
    """A fresh day: filled unindexed, indexed once, then attached (3x faster than index
    maintenance row by row); named and bounded exactly as
    onemap_ensure_position_partition() would."""
    table = sql.Identifier(day.part)
    cur.execute(
        sql.SQL("CREATE TABLE {} (LIKE vehicle_positions INCLUDING DEFAULTS)").format(table)
    )
    _copy_rows(cur, table.as_string(cur), f, first_id)
    in_day = sql.SQL("fix_time >= {} AND fix_time < {}").format(
        sql.Literal(day.lo), sql.Literal(day.hi)
    )
    for ddl in _BUILD:
        cur.execute(
            sql.SQL(ddl).format(
                t=table,
                c=sql.Identifier(f"{day.part}_range"),
                w=in_day,
                lo=sql.Literal(day.lo),
                hi=sql.Literal(day.hi),
            )
        )


def _insert_existing(cur, days: list[Day], f: Fixes) -> int:
    """Days that already hold fixes: through a staging table, ON CONFLICT DO NOTHING."""
    for day in days:
        cur.execute(
            "SELECT onemap_ensure_position_partition(date '1970-01-01' + %s)", (day.ordinal,)
        )
    cur.execute(
        "CREATE TEMP TABLE _onemap_gps_new (vehicle_code text, fix_time timestamptz, "
        "speed_kmh real, heading real, geom geometry(Point, 4326)) ON COMMIT DROP"
    )
    _copy_rows(cur, "_onemap_gps_new", f)
    cur.execute(
        f"INSERT INTO vehicle_positions {_COLUMNS} SELECT * FROM _onemap_gps_new "
        "ORDER BY vehicle_code, fix_time ON CONFLICT (vehicle_code, fix_time) DO NOTHING"
    )
    return cur.rowcount


@dataclass
class FreshLines:
    """Tracks and trips of the fresh days, built in memory from the batch."""

    vehicles: list[str]
    pairs: tuple[list[str], list[int]]
    tracks: list[tuple]
    trips: list[tuple]

    def all(self) -> list[bytes]:
        return [t[5] for t in self.tracks] + [t[6] for t in self.trips]


def _fresh_lines(kept: Fixes, day: np.ndarray, fresh: np.ndarray, rules: TripRules) -> FreshLines:
    """The lines of the fresh days: all of those days' fixes are in the batch."""
    f, d = kept.take(fresh), day[fresh]
    xym = np.column_stack((f.lon, f.lat, f.t_us / 1e6))
    return FreshLines(
        vehicles=sorted({f.codes[i] for i in np.unique(f.code_idx)}),
        pairs=vehicle_days(f.codes, f.code_idx, d),
        tracks=track_lines(f.codes, f.code_idx, d, f.t_us, xym),
        trips=trip_lines(f.codes, f.code_idx, d, f.t_us, xym, f.speed, rules),
    )


def _lengths(dsn: str | None, conn, lines: FreshLines) -> Future:
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


def _write_fresh(conn, lines: FreshLines, lengths: list[float]) -> dict[str, int]:
    tracks = lines.tracks
    counts = {
        "tracks 轨迹": write_tracks(conn, tracks, lengths[: len(tracks)]),
        "trips 行程": write_trips(conn, lines.pairs, lines.trips, lengths[len(tracks) :]),
    }
    update_last_positions(conn, lines.vehicles)
    return counts


def _rebuild_existing(
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


def _session(cur) -> None:
    """Settings for this transaction only."""
    cur.execute("SET LOCAL timezone = 'Asia/Shanghai'")
    cur.execute("SET LOCAL maintenance_work_mem = '512MB'")  # index builds in memory
    # Track and trip lines are 100+ kB each: lz4 compresses them ~7x faster than pglz
    # (reads are transparent; only where the server was built with lz4).
    cur.execute(
        "SELECT set_config('default_toast_compression', 'lz4', true) FROM pg_settings "
        "WHERE name = 'default_toast_compression' AND 'lz4' = ANY(enumvals)"
    )


def _insert(cur, kept: Fixes, day: np.ndarray, days: list[Day], id_dsn: str | None) -> int:
    """Fresh days bulk-built, the others through ON CONFLICT; returns fixes inserted."""
    fresh = np.isin(day, [d.ordinal for d in days if d.fresh])
    first_id = reserve_ids(id_dsn, int(fresh.sum())) if id_dsn and fresh.any() else None
    inserted = 0
    for d in (d for d in days if d.fresh):
        rows = kept.take(day == d.ordinal)
        _build_partition(cur, d, rows, None if first_id is None else first_id + inserted)
        inserted += len(rows)
    existing = [d for d in days if not d.fresh]
    if existing:
        inserted += _insert_existing(cur, existing, kept.take(~fresh))
    return inserted


def load_positions(
    conn,
    path: Path,
    opts: GpsOptions,
    phases: Phases | None = None,
    dsn: str | None = None,
) -> ImportResult:
    """Everything inside the caller's transaction; returns counts (nothing committed here).
    With dsn (this database), fresh partitions get ids reserved in one go and the lines'
    lengths are measured on a second connection."""
    phases = phases or Phases()
    result = ImportResult(layer="vehicle_positions", file=str(path), crs="EPSG:4326")
    extent = opts.extent or (-180.0, -90.0, 180.0, 90.0)
    with conn.cursor() as cur:
        _session(cur)
        fixes = read_fixes(cur, path)
        phases.done("read")
        state = classify(fixes, extent)
        ok = _sorted(fixes.take(state == OK))
        verdict = judge(ok, _max_kmh(cur, ok.codes, opts.max_speed_kmh), stored_fixes(cur, ok))
        kept = ok.take(~verdict.dup & ~verdict.jump)
        day = shanghai_day(kept.t_us)
        days = _days(cur, np.unique(day))
        phases.done("check")
        rules = TripRules(opts.stop_minutes, opts.gap_minutes, opts.stop_speed_kmh)
        fresh = np.isin(day, [d.ordinal for d in days if d.fresh])
        lines = _fresh_lines(kept, day, fresh, rules) if opts.rebuild and fresh.any() else None
        lengths = _lengths(dsn, conn, lines) if lines else None
        phases.done("lines")
        inserted = _insert(cur, kept, day, days, dsn)
        phases.done("insert")
    duplicates, jumps = int(verdict.dup.sum()), int(verdict.jump.sum())
    result.read = len(fixes)
    result.inserted = inserted
    result.extra = {
        "invalid 无效": int((state == INVALID).sum()),
        "out_of_extent 超出范围": int((state == OUT_OF_EXTENT).sum()),
        "duplicates 重复": duplicates,
        "jumps 漂移": jumps,
    }
    result.rejected = result.read - inserted - duplicates
    result.unchanged = duplicates
    counts = {"tracks 轨迹": 0, "trips 行程": 0}
    if lines and lengths:
        for key, value in _write_fresh(conn, lines, lengths.result()).items():
            counts[key] += value
    if opts.rebuild and not fresh.all():
        for key, value in _rebuild_existing(conn, kept, day, fresh, rules).items():
            counts[key] += value
    if len(kept) and opts.rebuild:
        result.extra.update(counts)
    phases.done("tracks_trips")
    result.extra["vehicles 车辆"] = len(np.unique(kept.code_idx))
    result.extra["days 天数"] = len(days)
    return result


def import_positions(dsn: str, path: str | Path, opts: GpsOptions) -> ImportResult:
    """`onemap import vehicle_positions FILE`: one transaction, logged in import_log."""
    path = Path(path)
    if not path.is_file():
        raise UsageError("文件不存在 — file not found", file=str(path))
    if opts.crs and opts.crs.strip().lower() not in (
        "wgs84",
        "epsg:4326",
        "4326",
        "cgcs2000",
        "epsg:4490",
    ):
        raise UsageError(
            "GPS 定位只接受 WGS84/CGCS2000 经纬度 — GPS fixes must be WGS84/CGCS2000 lon/lat"
        )
    entry = importlog.LogEntry(
        who=opts.user or importlog.current_user(),
        layer="vehicle_positions",
        status="failed",
        file_name=str(path),
        sha256=importlog.sha256_of(path),
        job=opts.job,
    )
    conn = psycopg2.connect(dsn, application_name="onemap-etl-gps")
    try:
        phases = Phases()
        try:
            result = load_positions(conn, path, opts, phases, dsn=dsn)
        except psycopg2.Error as exc:
            conn.rollback()
            message = (exc.diag.message_primary or str(exc)).strip()
            entry.message = f"导入失败 — import failed: {message}"
            if not opts.dry_run:
                importlog.write_alone(dsn, entry)
            raise EtlError(entry.message, file=str(path)) from exc
        result.sha256 = entry.sha256
        if opts.dry_run:
            conn.rollback()
            result.status = "dry-run"
            return result
        entry.status = "ok"
        entry.read_count, entry.inserted = result.read, result.inserted
        entry.unchanged, entry.rejected = result.unchanged, result.rejected
        entry.details = {k.split()[0]: v for k, v in result.extra.items()}
        entry.details["seconds"] = phases.seconds
        with conn.cursor() as cur:
            result.log_id = importlog.write(cur, entry)
        conn.commit()
        phases.done("commit")
        return result
    finally:
        conn.close()
