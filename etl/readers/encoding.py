"""Text encodings of Chinese files: .cpg-less GBK/GB18030 .dbf files and CSVs.

GDAL reads a .dbf without .cpg as ISO-8859-1 unless its language-driver byte
says otherwise, which turns 网格 into mojibake. We look at the bytes: if every
text field decodes as UTF-8 it is UTF-8, else if it decodes as GB18030 (a
superset of GBK and GB2312) it is GB18030.
"""

from __future__ import annotations

import struct
from pathlib import Path

_SAMPLE_RECORDS = 20000


def sibling(path: Path, suffix: str) -> Path | None:
    """`path` with another suffix, whatever its case (.CPG, .cpg)."""
    for candidate in path.parent.glob(path.stem + ".*"):
        if candidate.suffix.lower() == suffix:
            return candidate
    return None


def dbf_text_bytes(dbf: Path) -> list[bytes]:
    """Raw bytes of the character fields of the first records of a .dbf."""
    data = dbf.read_bytes()
    if len(data) < 32:
        return []
    n_records, header_len, record_len = struct.unpack("<IHH", data[4:12])
    fields: list[tuple[int, int]] = []
    offset, pos = 1, 32  # byte 0 of each record is the deletion flag
    while pos + 32 <= header_len and data[pos] != 0x0D:
        ftype, length = chr(data[pos + 11]), data[pos + 16]
        if ftype in "CM":
            fields.append((offset, length))
        offset += length
        pos += 32
    values = []
    for r in range(min(n_records, _SAMPLE_RECORDS)):
        start = header_len + r * record_len
        rec = data[start : start + record_len]
        for off, length in fields:
            value = rec[off : off + length].rstrip(b" \x00")
            if any(b >= 0x80 for b in value):
                values.append(value)
    return values


def guess_bytes_encoding(values: list[bytes]) -> str | None:
    """UTF-8 if all decode as UTF-8, else GB18030 if all decode as GB18030; None if ASCII."""
    if not values:
        return None
    for encoding in ("utf-8", "gb18030"):
        try:
            for v in values:
                v.decode(encoding)
        except UnicodeDecodeError:
            continue
        return "UTF-8" if encoding == "utf-8" else "GB18030"
    return None


def shapefile_encoding(shp: Path) -> str | None:
    """Encoding to pass to GDAL for a shapefile, or None to let its .cpg decide."""
    if sibling(shp, ".cpg") is not None:
        return None
    dbf = sibling(shp, ".dbf")
    return guess_bytes_encoding(dbf_text_bytes(dbf)) if dbf else None


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode a CSV: UTF-8 (with or without BOM), else GB18030 (what Excel saves in China)."""
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030"), "GB18030"
