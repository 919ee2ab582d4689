"""The feed's SQL, driver-neutral text run on a psycopg 3 connection: who the vehicles
are, what is stored around each fix, and the batch's write (partitions, COPY, insert,
latest positions). Nothing here commits."""

from __future__ import annotations

import datetime as dt
import io

from etl.feed.checks import Candidate
from etl.feed.fix import SHANGHAI

_VEHICLES = """
SELECT code, plate, kind FROM vehicles
WHERE code = ANY(%(keys)s::text[]) OR plate = ANY(%(keys)s::text[])
"""


def vehicles(cur, keys: list[str]) -> tuple[dict[str, str], dict[str, str | None]]:
    """(code or plate → code, code → kind); codes win over plates."""
    cur.execute(_VEHICLES, {"keys": sorted(set(keys))})
    by_key: dict[str, str] = {}
    kinds: dict[str, str | None] = {}
    rows = cur.fetchall()
    for code, plate, kind in rows:
        by_key.setdefault(plate, code)
        kinds[code] = kind
    for code, _plate, _kind in rows:
        by_key[code] = code
    return by_key, kinds


# Per fix: is it stored already, and the stored fix just before it (within a day, so the
# partitions are pruned at run time).
_AROUND = """
SELECT b.i, EXISTS (SELECT 1 FROM vehicle_positions s
                    WHERE s.vehicle_code = b.code AND s.fix_time = b.t
                      AND s.fix_time >= %(lo)s AND s.fix_time <= %(hi)s),
       p.fix_time, ST_X(p.geom), ST_Y(p.geom)
FROM unnest(%(codes)s::text[], %(ts)s::timestamptz[], %(idx)s::int[]) AS b(code, t, i)
LEFT JOIN LATERAL (
    SELECT s.fix_time, s.geom FROM vehicle_positions s
    WHERE s.vehicle_code = b.code AND s.fix_time < b.t AND s.fix_time >= b.t - interval '1 day'
      AND s.fix_time >= %(lo)s AND s.fix_time <= %(hi)s
    ORDER BY s.fix_time DESC LIMIT 1
) p ON true
"""


def stored_around(
    cur, cands: list[Candidate]
) -> tuple[set[int], dict[int, tuple[dt.datetime, float, float]]]:
    """(indexes already stored, index → previous stored (time, lon, lat))."""
    times = [c.t for c in cands]
    cur.execute(
        _AROUND,
        {
            "codes": [c.code for c in cands],
            "ts": times,
            "idx": [c.index for c in cands],
            # the batch's span as constants: the planner prunes the partitions it cannot touch
            "lo": min(times) - dt.timedelta(days=1),
            "hi": max(times),
        },
    )
    stored: set[int] = set()
    prev: dict[int, tuple[dt.datetime, float, float]] = {}
    for i, exists, t, x, y in cur.fetchall():
        if exists:
            stored.add(i)
        if t is not None:
            prev[i] = (t, x, y)
    return stored, prev


_MISSING_DAYS = """
SELECT d FROM unnest(%(days)s::date[]) d
WHERE to_regclass('vehicle_positions_' || to_char(d, 'YYYYMMDD')) IS NULL
"""


def ensure_partitions(cur, times: list[dt.datetime]) -> int:
    """Create the Asia/Shanghai day partitions the batch needs (the migration's
    onemap_ensure_position_partition); an advisory lock serialises creators."""
    days = sorted({t.astimezone(SHANGHAI).date() for t in times})
    cur.execute(_MISSING_DAYS, {"days": days})
    missing = [row[0] for row in cur.fetchall()]
    if missing:
        cur.execute("SELECT pg_advisory_xact_lock(hashtext('onemap_position_partitions'))")
        for day in missing:
            cur.execute("SELECT onemap_ensure_position_partition(%(d)s::date)", {"d": day})
    return len(missing)


STAGING = "_onemap_feed_in"
_STAGE = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGING} (
    vehicle_code text, fix_time timestamptz, speed_kmh real, heading real,
    lon double precision, lat double precision
) ON COMMIT DELETE ROWS
"""

# Insert (the key drops what another writer stored meanwhile), move each vehicle to its
# newest inserted fix when that is newer than its last one, return what moved.
_WRITE = f"""
WITH ins AS (
    INSERT INTO vehicle_positions (vehicle_code, fix_time, speed_kmh, heading, geom)
    SELECT vehicle_code, fix_time, speed_kmh, heading, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
    FROM {STAGING} ORDER BY vehicle_code, fix_time
    ON CONFLICT (vehicle_code, fix_time) DO NOTHING
    RETURNING vehicle_code, fix_time, speed_kmh, heading, geom
), newest AS (
    SELECT DISTINCT ON (vehicle_code) * FROM ins ORDER BY vehicle_code, fix_time DESC
), moved AS (
    UPDATE vehicles v
    SET last_fix_at = n.fix_time, speed_kmh = n.speed_kmh, heading = n.heading,
        geom = n.geom, updated_at = now()
    FROM newest n
    WHERE v.code = n.vehicle_code AND (v.last_fix_at IS NULL OR n.fix_time > v.last_fix_at)
    RETURNING v.code, ST_X(n.geom) AS x, ST_Y(n.geom) AS y, n.speed_kmh, n.heading,
              extract(epoch FROM n.fix_time)::float8 AS epoch_s
)
SELECT 'moved', code, NULL::timestamptz, x, y, speed_kmh, heading, epoch_s FROM moved
UNION ALL
SELECT 'ins', vehicle_code, fix_time, ST_X(geom), ST_Y(geom), speed_kmh, NULL, NULL FROM ins
"""


_COPY = f"COPY {STAGING} (vehicle_code, fix_time, speed_kmh, heading, lon, lat) FROM STDIN"


def _text(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, dt.datetime):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_rows(cur, rows: list[tuple]) -> None:
    """COPY rows into the staging table: psycopg 3's cur.copy(), or psycopg2's
    copy_expert with the same text format (route code may hand either driver)."""
    if hasattr(cur, "copy"):
        with cur.copy(_COPY) as copy:
            for row in rows:
                copy.write_row(row)
        return
    body = "".join("\t".join(_text(v) for v in row) + "\n" for row in rows)
    cur.copy_expert(_COPY, io.StringIO(body))


def write(
    cur, kept: list[Candidate]
) -> tuple[list[tuple[str, dt.datetime, float, float, float | None]], list[list]]:
    """COPY the kept fixes and insert them; returns (inserted (code, time, lon, lat, speed
    as stored),
    moved vehicles as [code, lon, lat, speed, heading, epoch_s])."""
    cur.execute(_STAGE)
    copy_rows(cur, [(c.code, c.t, c.speed, c.heading, c.lon, c.lat) for c in kept])
    cur.execute(_WRITE)
    inserted: list[tuple[str, dt.datetime, float, float, float | None]] = []
    moved: list[list] = []
    for what, code, t, x, y, speed, heading, epoch in cur.fetchall():
        if what == "ins":
            inserted.append((code, t, x, y, speed))
        else:
            moved.append([code, round(x, 7), round(y, 7), speed, heading, epoch])
    cur.execute(f"TRUNCATE {STAGING}")
    return inserted, moved
