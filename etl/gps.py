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

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import psycopg2

from etl import importlog
from etl.errors import EtlError, UsageError
from etl.gps_checks import INVALID, OK, OUT_OF_EXTENT, classify, judge, stored_fixes
from etl.gps_lines import fresh_lines, measure_lengths, rebuild_existing, write_fresh
from etl.gps_partitions import days_of, insert_fixes, shanghai_day
from etl.gps_read import Fixes, read_fixes
from etl.report import ImportResult
from layers.trips import TripRules


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
        days = days_of(cur, np.unique(day))
        phases.done("check")
        rules = TripRules(opts.stop_minutes, opts.gap_minutes, opts.stop_speed_kmh)
        fresh = np.isin(day, [d.ordinal for d in days if d.fresh])
        lines = fresh_lines(kept, day, fresh, rules) if opts.rebuild and fresh.any() else None
        lengths = measure_lengths(dsn, conn, lines) if lines else None
        phases.done("lines")
        inserted = insert_fixes(cur, kept, day, days, dsn)
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
        for key, value in write_fresh(conn, lines, lengths.result()).items():
            counts[key] += value
    if opts.rebuild and not fresh.all():
        for key, value in rebuild_existing(conn, kept, day, fresh, rules).items():
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
