"""GPS feed files to numpy columns: pyarrow's multi-threaded CSV reader, no SQL round trip.

Fast path: numbers typed by the reader, times in one fixed format parsed by
pyarrow. Anything else is still read, leniently: numbers that do not parse
become NULL, and times not in the fixed format (ISO with offsets, epoch
seconds or milliseconds, other PostgreSQL input forms) are parsed by the
server, once per distinct string, with the session time zone Asia/Shanghai.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from etl.colnames import X_NAMES, Y_NAMES, normalise_name
from etl.errors import SourceError

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
NUMBERS = ("lon", "lat", "speed_kmh", "heading")
FAST_TIME = "%Y-%m-%d %H:%M:%S"
SHANGHAI_US = 8 * 3600 * 1_000_000
NO_DST_SINCE_US = 694_224_000_000_000  # 1992-01-01 UTC: Asia/Shanghai is UTC+8 ever since
_SERVER_TIME = """
SELECT s, (extract(epoch FROM t) * 1000000)::bigint
FROM (SELECT s, CASE WHEN s ~ '^[0-9]{10}([.][0-9]+)?$' THEN to_timestamp(s::float8)
                     WHEN s ~ '^[0-9]{13}$' THEN to_timestamp(s::float8 / 1000)
                     ELSE onemap_try_timestamptz(s) END AS t
      FROM unnest(%s::text[]) s) x
WHERE isfinite(t)
"""


@dataclass
class Fixes:
    """A batch of fixes as columns. code_idx indexes codes (-1: no code); NaN is NULL."""

    codes: list[str]
    code_idx: np.ndarray  # int32
    t_us: np.ndarray  # int64 Unix microseconds UTC; valid only where has_time
    has_time: np.ndarray  # bool
    lon: np.ndarray  # float64
    lat: np.ndarray  # float64
    speed: np.ndarray  # float32
    heading: np.ndarray  # float32

    def __len__(self) -> int:
        return len(self.code_idx)

    def take(self, rows: np.ndarray) -> Fixes:
        """The fixes at these row positions (a mask or indices)."""
        return Fixes(
            self.codes,
            *(
                getattr(self, n)[rows]
                for n in ("code_idx", "t_us", "has_time", "lon", "lat", "speed", "heading")
            ),
        )


def columns_of(header: list[str], path: Path) -> list[str]:
    """Our field name for each file column (or a throwaway name for columns we ignore)."""
    names = []
    taken: set[str] = set()
    for i, col in enumerate(header):
        target = next(
            (
                f
                for f, aliases in FIELDS.items()
                if normalise_name(col) in {normalise_name(a) for a in aliases}
            ),
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


def sniff_encoding(path: Path) -> str:
    """UTF-8 unless the first 64 KiB say otherwise (then GB18030, as Chinese feeds are)."""
    head = path.read_bytes()[: 1 << 16]
    try:
        head.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        return "utf-8" if exc.start > len(head) - 4 else "gb18030"


def _read_table(source: Path | IO[bytes], names: list[str], encoding: str, typed: bool):
    """The file's wanted columns; numbers typed (fast) or as text (lenient)."""
    wanted = [n for n in names if n in FIELDS]
    types = {n: (pa.float64() if typed and n in NUMBERS else pa.string()) for n in wanted}
    return pacsv.read_csv(
        source,
        read_options=pacsv.ReadOptions(
            column_names=names, skip_rows=1, encoding=encoding, block_size=8 << 20
        ),
        parse_options=pacsv.ParseOptions(newlines_in_values=not typed),
        convert_options=pacsv.ConvertOptions(
            column_types=types,
            include_columns=wanted,
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def read_csv_table(path: Path) -> pa.Table:
    """The typed read, or the lenient one when some number does not parse."""
    encoding = sniff_encoding(path)
    with path.open("r", encoding="utf-8-sig" if encoding == "utf-8" else encoding) as fh:
        header = next(csv.reader([fh.readline()]), [])
    names = columns_of([h.strip() for h in header], path)
    try:
        return _read_table(path, names, encoding, typed=True)
    except pa.ArrowInvalid:
        pass
    try:
        return _read_table(path, names, encoding, typed=False)
    except pa.ArrowInvalid as exc:
        raise SourceError(f"CSV 格式错误 — malformed CSV: {exc}", file=str(path)) from exc


def read_jsonl_table(path: Path) -> pa.Table:
    """JSON Lines (one object per line; a bad line becomes an empty, invalid row), as text."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(list(FIELDS))
    with path.open(encoding="utf-8-sig") as fh:
        for line in fh:
            if line.strip():
                writer.writerow(_json_row(line))
    data = io.BytesIO(out.getvalue().encode("utf-8"))
    return _read_table(data, list(FIELDS), "utf-8", typed=False)


def _json_row(line: str) -> list[object]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        obj = {}
    normed = {normalise_name(k): v for k, v in obj.items()} if isinstance(obj, dict) else {}
    row = []
    for aliases in FIELDS.values():
        value = next(
            (normed[normalise_name(a)] for a in aliases if normalise_name(a) in normed), None
        )
        row.append("" if value is None else value)
    return row


def _numbers(table: pa.Table, name: str, dtype: type) -> np.ndarray:
    """A numeric column as floats, NaN for NULL, text that is no finite number, or absent."""
    if name not in table.column_names:
        return np.full(table.num_rows, np.nan, dtype=dtype)
    col = table.column(name)
    if pa.types.is_string(col.type):
        import pandas as pd  # lenient path only: pandas takes half a second to import

        text = pd.Series(pc.utf8_trim_whitespace(col).to_numpy(zero_copy_only=False))
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        values = col.to_numpy(zero_copy_only=False)
    values = np.array(values, dtype=np.float64)  # an own, writable copy
    values[~np.isfinite(values)] = np.nan
    return values.astype(dtype)


def _vehicle_codes(table: pa.Table) -> tuple[list[str], np.ndarray]:
    """Distinct codes (trimmed of spaces, as btrim does) and each row's index; -1 for blank."""
    encoded = table.column("vehicle_code").combine_chunks().dictionary_encode()
    raw = [(s or "").strip(" ") for s in encoded.dictionary.to_pylist()]
    codes = sorted({c for c in raw if c})
    position = {c: i for i, c in enumerate(codes)}
    remap = np.array([position.get(c, -1) for c in raw] + [-1], dtype=np.int32)
    idx = encoded.indices.fill_null(len(raw)).to_numpy(zero_copy_only=False)
    return codes, remap[idx]


def _times(cur, col: pa.ChunkedArray) -> tuple[np.ndarray, np.ndarray]:
    """Unix µs and a parsed mask. Fixed-format local times are parsed here; the rest by
    the server (PostgreSQL's own input rules, time zone Asia/Shanghai)."""
    col = pc.utf8_trim_whitespace(col)
    local = pc.strptime(col, format=FAST_TIME, unit="us", error_is_null=True)
    has = np.array(pc.is_valid(local).to_numpy(zero_copy_only=False), dtype=bool)
    t_us = local.cast(pa.int64()).fill_null(0).to_numpy(zero_copy_only=False) - SHANGHAI_US
    has &= t_us >= NO_DST_SINCE_US
    rest = ~has & pc.is_valid(col).to_numpy(zero_copy_only=False)
    if rest.any():
        text = col.to_numpy(zero_copy_only=False)[rest]
        cur.execute(_SERVER_TIME, (sorted(set(text)),))
        parsed = dict(cur.fetchall())
        t_us[rest] = [parsed.get(s, 0) for s in text]
        has[rest] = [s in parsed for s in text]
    return t_us, has


def table_to_fixes(cur, table: pa.Table) -> Fixes:
    """Columns of a read file as typed arrays (the session time zone must be Asia/Shanghai)."""
    codes, code_idx = _vehicle_codes(table)
    t_us, has_time = _times(cur, table.column("fix_time"))
    return Fixes(
        codes=codes,
        code_idx=code_idx,
        t_us=t_us,
        has_time=has_time,
        lon=_numbers(table, "lon", np.float64),
        lat=_numbers(table, "lat", np.float64),
        speed=_numbers(table, "speed_kmh", np.float32),
        heading=_numbers(table, "heading", np.float32),
    )


def read_fixes(cur, path: Path) -> Fixes:
    """A CSV or JSON Lines GPS file as typed columns."""
    if path.suffix.lower() in (".jsonl", ".ndjson", ".json"):
        table = read_jsonl_table(path)
    else:
        table = read_csv_table(path)
    return table_to_fixes(cur, table)
