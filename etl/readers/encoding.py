"""Text encodings of Chinese files: .cpg-less GBK/GB18030 .dbf files and CSVs.

GDAL reads a .dbf without .cpg as ISO-8859-1 unless its language-driver byte
says otherwise, which turns 网格 into mojibake. We look at the bytes: if every
text field decodes as UTF-8 it is UTF-8, else if it decodes as GB18030 (a
superset of GBK and GB2312) it is GB18030.
"""

from __future__ import annotations

import codecs
import struct
from pathlib import Path

from etl.errors import SourceError

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


_CODE_PAGES = {"65001": "utf-8", "936": "gbk", "54936": "gb18030", "1252": "cp1252"}


def _undecodable(values: list[bytes], encoding: str) -> bytes | None:
    """The first value that is not text in `encoding` (None: all are)."""
    for v in values:
        try:
            v.decode(encoding)
        except UnicodeDecodeError:
            return v
    return None


def _check_declared(values: list[bytes], declared: str, shp: Path) -> None:
    """A .cpg that names an encoding the .dbf's bytes are not in is refused, not mis-read."""
    name = _CODE_PAGES.get(declared.strip(), declared.strip())
    try:
        codecs.lookup(name)
    except LookupError:
        return  # an encoding Python does not know: leave it to GDAL
    if (bad := _undecodable(values, name)) is not None:
        raise SourceError(
            f".cpg 声明编码 {declared.strip()},但 .dbf 中有无法按此解码的文字 — the .cpg declares "
            f"{declared.strip()} but the .dbf holds text that is not {declared.strip()}: {bad[:40]!r}; "
            "fix the .cpg or pass --encoding",
            file=str(shp),
        )


def shapefile_encoding(shp: Path) -> str | None:
    """Encoding to pass to GDAL for a shapefile, or None to let its .cpg decide.

    Text that is neither UTF-8 nor GB18030 (nor what the .cpg declares) is refused:
    GDAL would read it as Latin-1 and import mojibake without a word.
    """
    dbf = sibling(shp, ".dbf")
    values = dbf_text_bytes(dbf) if dbf else []
    cpg = sibling(shp, ".cpg")
    if cpg is not None:
        _check_declared(values, cpg.read_text(encoding="ascii", errors="replace"), shp)
        return None
    found = guess_bytes_encoding(values)
    if values and found is None:
        raise SourceError(
            "无法识别 .dbf 的文字编码(既非 UTF-8 也非 GBK/GB18030)— the .dbf text is neither "
            f"UTF-8 nor GBK/GB18030, e.g. {_undecodable(values, 'gb18030')[:40]!r}; add a .cpg "
            "naming its encoding or pass --encoding",
            file=str(shp),
        )
    return found


def decode_text(raw: bytes) -> tuple[str, str]:
    """Decode a CSV: UTF-8 (with or without BOM), else GB18030 (what Excel saves in China)."""
    try:
        return raw.decode("utf-8-sig"), "UTF-8"
    except UnicodeDecodeError:
        return raw.decode("gb18030"), "GB18030"
