"""GPS fixes at feed speed: COPY the file as it is into a temp table, then do every
check in SQL (parse, range, extent, dedupe, jumps), insert into the day
partitions, and rebuild the tracks and trips of the vehicles and days touched.

Checks, in order (each dropped fix is counted once, under the first it fails):
invalid (no vehicle, unparseable time, missing or out-of-range coordinates),
out_of_extent, duplicate (same vehicle and fix time earlier in the batch or
already stored), jump (implied speed from the vehicle's previous fix above the
per-kind maximum; a lone spike is judged against both neighbours first, so the
fix after a spike is not lost). Late and out-of-order fixes are fine: the
previous fix is looked up over batch and stored fixes together.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psycopg2
from psycopg2 import sql

from etl import importlog
from etl.errors import EtlError, SourceError, UsageError
from etl.readers.tabular import X_NAMES, Y_NAMES, _norm
from etl.report import ImportResult
from layers.tracks import rebuild_tracks
from layers.trips import rebuild_trips

RAW = "_onemap_gps_raw"
FIELDS = {
    "vehicle_code": (
        "vehicle_code",
        "vehicle",
        "code",
        "vehicleid",
        "车辆编号",
        "车辆编码",
        "终端号",
    ),
    "fix_time": (
        "fix_time",
        "time",
        "timestamp",
        "gps_time",
        "gpstime",
        "datetime",
        "定位时间",
        "时间",
    ),
    "lon": X_NAMES,
    "lat": Y_NAMES,
    "speed_kmh": ("speed_kmh", "speed", "速度", "速度km/h"),
    "heading": ("heading", "direction", "course", "方向", "航向", "方向角"),
}
_TIME_RE = r"^\d{4}-\d{1,2}-\d{1,2}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}(:?\d{2})?)?$"
_NUM_RE = r"^ *[+-]?([0-9]+([.][0-9]*)?|[.][0-9]+)([eE][+-]?[0-9]+)? *$"


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


def _columns_of(header: list[str], path: Path) -> list[str]:
    """Staging column name for each file column (our field name, or a throwaway name)."""
    names = []
    taken: set[str] = set()
    for i, col in enumerate(header):
        target = next(
            (f for f, aliases in FIELDS.items() if _norm(col) in {_norm(a) for a in aliases}),
            None,
        )
        if target in taken or target is None:
            target = f"_c{i}"
        taken.add(target)
        names.append(target)
    missing = [f for f in ("vehicle_code", "fix_time", "lon", "lat") if f not in taken]
    if missing:
        raise SourceError(f"缺少列 — missing columns {missing}; header is {header}", file=str(path))
    return names


def _sniff_encoding(path: Path) -> str:
    head = path.read_bytes()[: 1 << 16]
    try:
        head.decode("utf-8")
        return "UTF8"
    except UnicodeDecodeError as exc:
        return "UTF8" if exc.start > len(head) - 4 else "GB18030"


_TYPES = {
    "vehicle_code": "text",
    "fix_time": "timestamptz",
    "lon": "double precision",
    "lat": "double precision",
    "speed_kmh": "real",
    "heading": "real",
}


def _create_raw(cur, names: list[str], typed: bool) -> None:
    """The staging table: typed columns for the fast path, all text for the lenient one."""
    cols = [
        sql.SQL("{} {}").format(
            sql.Identifier(n), sql.SQL(_TYPES.get(n, "text") if typed else "text")
        )
        for n in names
    ]
    cols += [
        sql.SQL("{} {}").format(sql.Identifier(f), sql.SQL(_TYPES[f] if typed else "text"))
        for f in FIELDS
        if f not in names
    ]
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier(RAW), sql.SQL(", ").join(cols)
        )
    )


def _copy_csv(cur, path: Path) -> bool:
    """COPY the CSV as it is. Fast path: straight into typed columns (the server parses);
    if any value does not parse, redo it into text columns that SQL checks row by row.
    Returns whether the typed path worked."""
    encoding = _sniff_encoding(path)
    with path.open("r", encoding="utf-8-sig" if encoding == "UTF8" else "gb18030") as fh:
        header = next(csv.reader([fh.readline()]), [])
    names = _columns_of([h.strip() for h in header], path)
    copy = sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv, HEADER true, ENCODING {})").format(
        sql.Identifier(RAW),
        sql.SQL(", ").join(sql.Identifier(n) for n in names),
        sql.Literal(encoding),
    )
    for typed in (True, False):
        cur.execute("SAVEPOINT onemap_gps_copy")
        _create_raw(cur, names, typed)
        try:
            with path.open("rb") as fh:
                if fh.read(3) != b"\xef\xbb\xbf":
                    fh.seek(0)
                cur.copy_expert(copy, fh, size=1 << 20)
            cur.execute("RELEASE SAVEPOINT onemap_gps_copy")
            return typed
        except psycopg2.DataError:
            cur.execute("ROLLBACK TO SAVEPOINT onemap_gps_copy")
            if not typed:
                raise
    raise AssertionError("unreachable")


def _jsonl_as_csv(fh: IO[str]) -> io.StringIO:
    """JSON Lines to CSV text (one object per line; a bad line becomes an empty, invalid row)."""
    out = io.StringIO()
    writer = csv.writer(out)
    keys = list(FIELDS)
    for line in fh:
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            obj = {}
        if not isinstance(obj, dict):
            obj = {}
        normed = {_norm(k): v for k, v in obj.items()}
        row = []
        for f in keys:
            value = next((normed[_norm(a)] for a in FIELDS[f] if _norm(a) in normed), None)
            row.append("" if value is None else value)
        writer.writerow(row)
    out.seek(0)
    return out


def _copy_jsonl(cur, path: Path) -> int:
    cols = sql.SQL(", ").join(sql.SQL("{} text").format(sql.Identifier(n)) for n in FIELDS)
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(sql.Identifier(RAW), cols)
    )
    with path.open(encoding="utf-8-sig") as fh:
        cur.copy_expert(
            sql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
                sql.Identifier(RAW), sql.SQL(", ").join(sql.Identifier(n) for n in FIELDS)
            ),
            _jsonl_as_csv(fh),
        )
    return False


_PARSE = """
CREATE TEMP TABLE _onemap_gps ON COMMIT DROP AS
SELECT vehicle_code, fix_time, lon, lat, speed_kmh, heading,
       CASE WHEN vehicle_code IS NULL OR fix_time IS NULL OR lon IS NULL OR lat IS NULL
                 OR lon NOT BETWEEN -180 AND 180 OR lat NOT BETWEEN -90 AND 90 THEN 'invalid'
            WHEN NOT (lon BETWEEN %(x0)s AND %(x1)s AND lat BETWEEN %(y0)s AND %(y1)s)
                 THEN 'out_of_extent'
            ELSE 'ok' END AS state
FROM ({parsed}) p
"""

_PARSED_TYPED = (
    "SELECT nullif(btrim(vehicle_code), '') AS vehicle_code, "
    "CASE WHEN isfinite(fix_time) THEN fix_time END AS fix_time, lon, lat, speed_kmh, heading "
    "FROM {raw}"
)

_PARSED_TEXT = """
    SELECT nullif(btrim(vehicle_code), '') AS vehicle_code,
           CASE WHEN fix_time ~ %(time_re)s THEN onemap_try_timestamptz(fix_time)
                WHEN fix_time ~ '^[0-9]{{10}}([.][0-9]+)?$' THEN to_timestamp(fix_time::float8)
                WHEN fix_time ~ '^[0-9]{{13}}$' THEN to_timestamp(fix_time::float8 / 1000) END
               AS fix_time,
           CASE WHEN lon ~ %(num_re)s THEN lon::float8 END AS lon,
           CASE WHEN lat ~ %(num_re)s THEN lat::float8 END AS lat,
           CASE WHEN speed_kmh ~ %(num_re)s THEN speed_kmh::real END AS speed_kmh,
           CASE WHEN heading ~ %(num_re)s THEN heading::real END AS heading
    FROM {raw}
    OFFSET 0  -- keep the subquery: evaluate each parse once per row, not once per use
"""

# Batch fixes and the stored fixes they sit among, in one time line per vehicle,
# judged in ONE window pass: dup = same time as the previous entry (stored rows
# sort first); jump = too fast from the previous fix, or, when the previous fix
# was itself a lone spike (too fast in and out), too fast from the one before it.
_TIMELINE = """
CREATE TEMP TABLE _onemap_gps_line ON COMMIT DROP AS
WITH batch AS (
    SELECT vehicle_code, fix_time, lon, lat, speed_kmh, heading FROM _onemap_gps WHERE state = 'ok'
), span AS (
    SELECT vehicle_code, min(fix_time) AS lo, max(fix_time) AS hi FROM batch GROUP BY vehicle_code
), stored AS (
    SELECT p.vehicle_code, p.fix_time, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat
    FROM span s JOIN vehicle_positions p
      ON p.vehicle_code = s.vehicle_code AND p.fix_time BETWEEN s.lo AND s.hi
    UNION ALL
    SELECT s.vehicle_code, b.fix_time, b.lon, b.lat
    FROM span s CROSS JOIN LATERAL (
        SELECT p.fix_time, ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat FROM vehicle_positions p
        WHERE p.vehicle_code = s.vehicle_code AND p.fix_time < s.lo
        ORDER BY p.fix_time DESC LIMIT 1) b
), line AS (
    SELECT vehicle_code, fix_time, lon, lat, speed_kmh, heading, true AS is_new FROM batch
    UNION ALL
    SELECT vehicle_code, fix_time, lon, lat, NULL, NULL, false FROM stored
), w AS (
    SELECT l.*, extract(epoch FROM l.fix_time)::float8 AS ts,
           lag(fix_time) OVER w AS t1, lag(is_new) OVER w AS new1,
           lag(lon) OVER w AS x1, lag(lat) OVER w AS y1,
           extract(epoch FROM lag(fix_time) OVER w)::float8 AS s1,
           lag(lon, 2) OVER w AS x2, lag(lat, 2) OVER w AS y2,
           extract(epoch FROM lag(fix_time, 2) OVER w)::float8 AS s2,
           lead(lon) OVER w AS x3, lead(lat) OVER w AS y3,
           extract(epoch FROM lead(fix_time) OVER w)::float8 AS s3
    FROM line l
    WINDOW w AS (PARTITION BY vehicle_code ORDER BY fix_time, is_new)
), v AS (
    SELECT w.*, coalesce(k.max_kmh, %(default_kmh)s) AS max_kmh,
           {v_in} AS v_in, {v_prev_in} AS v_prev_in, {v_skip} AS v_skip
    FROM w
    LEFT JOIN vehicles veh ON veh.code = w.vehicle_code
    LEFT JOIN unnest(%(kinds)s::text[], %(speeds)s::float8[]) AS k(kind, max_kmh)
      ON k.kind = veh.kind
)
SELECT vehicle_code, fix_time, lon, lat, speed_kmh, heading, is_new,
       coalesce(is_new AND t1 = fix_time, false) AS dup,
       is_new AND coalesce(
           CASE WHEN new1 AND v_prev_in > max_kmh AND v_in > max_kmh THEN v_skip > max_kmh
                ELSE v_in > max_kmh END,
           false) AS jump
FROM v
"""


def _kmh(a: str, b: str) -> str:
    """Implied speed between two fixes (equirectangular: exact enough over a few km)."""
    ax, ay, at = (f"x{a}", f"y{a}", f"s{a}") if a else ("lon", "lat", "ts")
    bx, by, bt = (f"x{b}", f"y{b}", f"s{b}") if b else ("lon", "lat", "ts")
    return (
        f"(sqrt(power(({bx} - {ax}) * cos(radians({ay})), 2) + power({by} - {ay}, 2)) "
        f"* 111195.08 / nullif({bt} - {at}, 0) * 3.6)"
    )


_TIMELINE = (
    _TIMELINE.format(v_in=_kmh("1", ""), v_prev_in=_kmh("2", "1"), v_skip=_kmh("2", ""))
    .replace("{{", "{")
    .replace("}}", "}")
)

_KEEP = "is_new AND NOT dup AND NOT jump"
_INSERT = f"""
INSERT INTO {{target}} (vehicle_code, fix_time, speed_kmh, heading, geom)
SELECT vehicle_code, fix_time, speed_kmh, heading, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
FROM _onemap_gps_line WHERE {_KEEP} AND {{where}}
ORDER BY vehicle_code, fix_time
{{conflict}}
"""
_BOUNDS = """
SELECT d, 'vehicle_positions_' || to_char(d, 'YYYYMMDD'),
       (d::timestamp AT TIME ZONE 'Asia/Shanghai'), ((d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai')
FROM (SELECT DISTINCT (fix_time AT TIME ZONE 'Asia/Shanghai')::date AS d
      FROM _onemap_gps_line WHERE is_new AND NOT dup AND NOT jump) days ORDER BY d
"""


def _insert_day(cur, day: dt.date, part: str, lo: dt.datetime, hi: dt.datetime) -> int:
    """Insert one day's kept fixes. A day with no partition yet and nothing waiting in
    the default partition is bulk-built: filled unindexed, indexed once, then attached
    (3x faster than index maintenance row by row); named and bounded exactly as
    onemap_ensure_position_partition() would. Other days go through the partition
    that function ensures, with ON CONFLICT DO NOTHING."""
    in_day = sql.SQL("fix_time >= {} AND fix_time < {}").format(sql.Literal(lo), sql.Literal(hi))
    cur.execute("SELECT to_regclass(%s) IS NULL", (part,))
    fresh = cur.fetchone()[0]
    if fresh:
        cur.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM vehicle_positions_default "
            "WHERE fix_time >= %s AND fix_time < %s)",
            (lo, hi),
        )
        fresh = cur.fetchone()[0]
    if not fresh:
        cur.execute("SELECT onemap_ensure_position_partition(%s)", (day,))
        cur.execute(
            sql.SQL(_INSERT).format(
                target=sql.Identifier("vehicle_positions"),
                where=in_day,
                conflict=sql.SQL("ON CONFLICT (vehicle_code, fix_time) DO NOTHING"),
            )
        )
        return cur.rowcount
    table = sql.Identifier(part)
    cur.execute(
        sql.SQL("CREATE TABLE {} (LIKE vehicle_positions INCLUDING DEFAULTS)").format(table)
    )
    cur.execute(sql.SQL(_INSERT).format(target=table, where=in_day, conflict=sql.SQL("")))
    count = cur.rowcount
    check = sql.Identifier(f"{part}_range")
    for ddl in (
        "ALTER TABLE {t} ADD PRIMARY KEY (vehicle_code, fix_time)",
        "CREATE INDEX ON {t} USING gist (geom)",
        "CREATE INDEX ON {t} (fix_time)",
        "CREATE INDEX ON {t} (id)",
        "ALTER TABLE {t} ADD CONSTRAINT {c} CHECK ({w})",  # lets ATTACH skip its scan
        "ALTER TABLE vehicle_positions ATTACH PARTITION {t} FOR VALUES FROM ({lo}) TO ({hi})",
        "ALTER TABLE {t} DROP CONSTRAINT {c}",
    ):
        cur.execute(
            sql.SQL(ddl).format(t=table, c=check, w=in_day, lo=sql.Literal(lo), hi=sql.Literal(hi))
        )
    cur.execute("SELECT onemap_ensure_position_partition(%s)", (day,))  # now a no-op check
    return count


_TOUCHED = """
SELECT DISTINCT vehicle_code, (fix_time AT TIME ZONE 'Asia/Shanghai')::date
FROM _onemap_gps_line WHERE is_new AND NOT dup AND NOT jump
"""


def _speed_limits(max_speed_kmh: dict[str, float]) -> dict[str, object]:
    kinds = [k for k in max_speed_kmh if k != "default"]
    return {
        "kinds": kinds,
        "speeds": [float(max_speed_kmh[k]) for k in kinds],
        "default_kmh": float(max_speed_kmh.get("default", 150.0)),
    }


def load_positions(conn, path: Path, opts: GpsOptions) -> ImportResult:
    """Everything inside the caller's transaction; returns counts (nothing committed here)."""
    result = ImportResult(layer="vehicle_positions", file=str(path), crs="EPSG:4326")
    extent = opts.extent or (-180.0, -90.0, 180.0, 90.0)
    with conn.cursor() as cur:
        cur.execute("SET LOCAL timezone = 'Asia/Shanghai'")
        # sorts of whole batches (windows, index builds) in memory instead of on disk
        cur.execute("SET LOCAL work_mem = '256MB'")
        cur.execute("SET LOCAL maintenance_work_mem = '512MB'")
        if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
            typed = _copy_jsonl(cur, path)
        else:
            typed = _copy_csv(cur, path)
        parsed = sql.SQL(_PARSED_TYPED if typed else _PARSED_TEXT).format(raw=sql.Identifier(RAW))
        cur.execute(
            sql.SQL(_PARSE).format(parsed=parsed),
            {
                "x0": extent[0],
                "y0": extent[1],
                "x1": extent[2],
                "y1": extent[3],
                "time_re": _TIME_RE,
                "num_re": _NUM_RE,
            },
        )
        cur.execute("SELECT state, count(*) FROM _onemap_gps GROUP BY state")
        states = dict(cur.fetchall())
        result.read = sum(states.values())  # (psycopg2 reports no row count for COPY)
        cur.execute(_TIMELINE, _speed_limits(opts.max_speed_kmh))
        cur.execute(
            "SELECT count(*) FILTER (WHERE dup), count(*) FILTER (WHERE jump AND NOT dup) "
            "FROM _onemap_gps_line WHERE is_new"
        )
        duplicates, jumps = cur.fetchone()
        cur.execute(_BOUNDS)
        inserted = sum(_insert_day(cur, *bounds) for bounds in cur.fetchall())
        cur.execute(_TOUCHED)
        touched = cur.fetchall()
    result.inserted = inserted
    result.extra = {
        "invalid 无效": states.get("invalid", 0),
        "out_of_extent 超出范围": states.get("out_of_extent", 0),
        "duplicates 重复": duplicates,
        "jumps 漂移": jumps,
    }
    result.rejected = result.read - inserted - duplicates
    result.unchanged = duplicates
    vehicles = sorted({v for v, _ in touched})
    days = sorted({d for _, d in touched})
    if vehicles and opts.rebuild:
        result.extra["tracks 轨迹"] = rebuild_tracks(conn, vehicles, days)
        result.extra["trips 行程"] = rebuild_trips(
            conn,
            vehicles,
            days,
            stop_minutes=opts.stop_minutes,
            gap_minutes=opts.gap_minutes,
            stop_speed_kmh=opts.stop_speed_kmh,
        )
    result.extra["vehicles 车辆"] = len(vehicles)
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
        try:
            result = load_positions(conn, path, opts)
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
        with conn.cursor() as cur:
            result.log_id = importlog.write(cur, entry)
        conn.commit()
        return result
    finally:
        conn.close()


def day_of(ts: dt.datetime) -> dt.date:
    """The Asia/Shanghai day a fix belongs to (its partition and track)."""
    from etl.coerce import SHANGHAI

    return ts.astimezone(SHANGHAI).date()
