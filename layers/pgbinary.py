"""PostgreSQL binary COPY built with numpy: millions of rows without a Python loop per row.

Why binary: the server skips text parsing (no float or timestamp input functions),
and geometry arrives as EWKB through geometry_recv. Rows of one shape (same code
length, same NULL columns) are one numpy structured array, so encoding costs a
few field assignments per group instead of work per row.
"""

from __future__ import annotations

import io
import struct

import numpy as np

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
PG_EPOCH_US = 946_684_800_000_000  # 2000-01-01 UTC in Unix microseconds
EWKB_POINT_4326 = (1, 0x20000001, 4326)  # little endian, Point with SRID, SRID


def copy_binary(cur, table_and_columns: str, chunks: list[bytes]) -> None:
    """COPY already encoded row bytes into `table (columns)` (a psycopg2 or psycopg 3 cursor)."""
    data = b"".join([HEADER, *chunks, TRAILER])
    statement = f"COPY {table_and_columns} FROM STDIN WITH (FORMAT binary)"
    if hasattr(cur, "copy_expert"):  # psycopg2
        cur.copy_expert(statement, io.BytesIO(data))
    else:  # psycopg 3
        with cur.copy(statement) as copy:
            copy.write(data)


def _position_dtype(code_len: int, speed: bool, heading: bool, ids: bool) -> np.dtype:
    """One binary COPY row of ([id,] vehicle_code, fix_time, speed_kmh, heading, geom)."""
    fields: list[tuple[str, str]] = [("ncols", ">i2")]
    fields += [("l_id", ">i4"), ("id", ">i8")] if ids else []
    fields += [("l_code", ">i4"), ("code", f"S{code_len}")]
    fields += [("l_t", ">i4"), ("t", ">i8"), ("l_speed", ">i4")]
    fields += [("speed", ">f4")] if speed else []
    fields += [("l_heading", ">i4")]
    fields += [("heading", ">f4")] if heading else []
    fields += [("l_geom", ">i4"), ("order", "u1"), ("gtype", "<u4"), ("srid", "<u4")]
    fields += [("x", "<f8"), ("y", "<f8")]
    return np.dtype(fields)


def encode_positions(
    codes: list[bytes],
    code_idx: np.ndarray,
    t_us: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
    speed: np.ndarray,
    heading: np.ndarray,
    ids: np.ndarray | None = None,
) -> list[bytes]:
    """Rows for COPY vehicle_positions ([id,] vehicle_code, fix_time, speed_kmh, heading, geom).

    codes are UTF-8 vehicle codes, code_idx indexes them per row; NaN speed or
    heading is NULL; t_us is Unix microseconds (UTC). Row order is kept within
    each (code length, NULL pattern) group.
    """
    lens = np.array([len(c) for c in codes], dtype=np.int64)[code_idx]
    has_speed, has_heading = ~np.isnan(speed), ~np.isnan(heading)
    shape = lens * 4 + has_speed * 2 + has_heading
    chunks = []
    for key in np.unique(shape):
        rows = np.flatnonzero(shape == key)
        code_len, with_speed, with_heading = int(key) // 4, bool(key & 2), bool(key & 1)
        out = np.empty(
            len(rows), _position_dtype(code_len, with_speed, with_heading, ids is not None)
        )
        out["ncols"], out["l_code"] = 5 if ids is None else 6, code_len
        if ids is not None:
            out["l_id"], out["id"] = 8, ids[rows]
        out["code"] = np.array(codes, dtype=f"S{max(code_len, 1)}")[code_idx[rows]]
        out["l_t"], out["t"] = 8, t_us[rows] - PG_EPOCH_US
        out["l_speed"] = 4 if with_speed else -1
        if with_speed:
            out["speed"] = speed[rows]
        out["l_heading"] = 4 if with_heading else -1
        if with_heading:
            out["heading"] = heading[rows]
        out["l_geom"] = 25
        out["order"], out["gtype"], out["srid"] = EWKB_POINT_4326
        out["x"], out["y"] = lon[rows], lat[rows]
        chunks.append(out.tobytes())
    return chunks


def field(value: object, kind: str) -> bytes:
    """One binary COPY field: kind is text, int4, tstz (Unix µs), date (days since 1970),
    float8 or bytes (a value sent as is, e.g. EWKB); None is NULL."""
    if value is None or (kind == "float8" and value != value):
        return struct.pack(">i", -1)
    if kind == "text":
        data = str(value).encode("utf-8")
    elif kind == "int4":
        data = struct.pack(">i", int(value))
    elif kind == "tstz":
        data = struct.pack(">q", int(value) - PG_EPOCH_US)
    elif kind == "date":
        data = struct.pack(">i", int(value) - 10_957)  # days 1970-01-01 → 2000-01-01
    elif kind == "float8":
        data = struct.pack(">d", float(value))
    else:
        data = bytes(value)
    return struct.pack(">i", len(data)) + data


def encode_rows(rows: list[tuple], kinds: tuple[str, ...]) -> list[bytes]:
    """Small tables (tracks, trips: hundreds of rows) a row at a time."""
    head = struct.pack(">h", len(kinds))
    return [head + b"".join(field(v, k) for v, k in zip(row, kinds, strict=True)) for row in rows]


def linestring_m(points: np.ndarray) -> bytes:
    """EWKB LineString M (no SRID) of an (n, 3) array of x, y, m."""
    return struct.pack("<BII", 1, 0x40000002, len(points)) + points.astype("<f8").tobytes()


def runs(*keys: np.ndarray) -> np.ndarray:
    """Start of each run of equal keys in sorted arrays, plus the end: slice bounds."""
    n = len(keys[0])
    change = np.zeros(n, bool)
    if n:
        change[0] = True
    for key in keys:
        change[1:] |= key[1:] != key[:-1]
    return np.append(np.flatnonzero(change), n)
