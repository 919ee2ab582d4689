"""Checks on a file before any library parses it: hostile files are refused with the reason.

GIS staff import what other departments send them, so a file may be a zip bomb
(a small archive that unpacks to gigabytes: .zip, .kmz and .xlsx are all zips),
an XML file declaring entities (external entities read local files; nested ones
expand to gigabytes — KML, GML), or a table too wide to be a layer. Each is
refused here, before GDAL or openpyxl allocate anything.
"""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path, PurePosixPath

from etl.errors import SourceError

MAX_UNPACKED_BYTES = 2 * 1024**3  # what one import may unpack, all members together
MAX_RATIO = 200  # unpacked ÷ packed for one member, past which it is a bomb ...
RATIO_FLOOR_BYTES = 64 * 1024**2  # ... once it unpacks to more than this
MAX_COLUMNS = 1000  # attribute columns; a real layer has tens
XML_PROLOG_BYTES = 64 * 1024  # a DOCTYPE must come before the root element


def check_archive(archive: zipfile.ZipFile, label: str, members: list[str] | None = None) -> None:
    """Refuse unsafe names, members that unpack past the ratio, or too much in all."""
    infos = [i for i in archive.infolist() if members is None or i.filename in members]
    for info in infos:
        name = PurePosixPath(info.filename)
        if name.is_absolute() or ".." in name.parts:
            raise SourceError(
                f"压缩包含不安全路径 — unsafe path in the archive: {info.filename}", file=label
            )
        if info.file_size > RATIO_FLOOR_BYTES and info.file_size > MAX_RATIO * max(
            info.compress_size, 1
        ):
            raise SourceError(
                f"疑似压缩炸弹 — zip bomb refused: {info.filename} unpacks "
                f"{info.compress_size:,} → {info.file_size:,} bytes",
                file=label,
            )
    total = sum(i.file_size for i in infos)
    if total > MAX_UNPACKED_BYTES:
        raise SourceError(
            f"解压后过大 — the archive unpacks to {total:,} bytes, over the limit of "
            f"{MAX_UNPACKED_BYTES:,}",
            file=label,
        )


def extract(archive: zipfile.ZipFile, members: list[str], dest: Path, label: str) -> None:
    """Unpack only `members`, never past the sizes their headers declare (headers can lie)."""
    check_archive(archive, label, members)
    for name in members:
        info = archive.getinfo(name)
        target = dest / PurePosixPath(name).name
        with archive.open(info) as src, open(target, "wb") as out:
            copied = 0
            while chunk := src.read(1 << 20):
                copied += len(chunk)
                if copied > info.file_size:
                    raise SourceError(
                        f"压缩包头与内容不符 — {name} holds more than its header declares",
                        file=label,
                    )
                out.write(chunk)


def check_zip_file(path: Path) -> None:
    """A .kmz or .xlsx (zips that GDAL / openpyxl open themselves) checked as an archive."""
    try:
        with zipfile.ZipFile(path) as archive:
            check_archive(archive, str(path))
            for info in archive.infolist():
                if info.filename.lower().endswith(".kml"):
                    with archive.open(info) as member:
                        check_xml_prolog(member.read(XML_PROLOG_BYTES), str(path))
    except zipfile.BadZipFile as exc:
        raise SourceError("压缩包已损坏 — corrupt zip archive", file=str(path)) from exc


def check_xml_prolog(head: bytes, label: str) -> None:
    """XML with a DTD is refused: entities can read local files (XXE) or expand to gigabytes."""
    lowered = head.lower()
    if b"<!doctype" in lowered or b"<!entity" in lowered:
        raise SourceError(
            "XML 文件含 DTD/实体声明,已拒绝 — XML with a DOCTYPE or ENTITY declaration refused "
            "(external or nested entities); remove the DOCTYPE and import again",
            file=label,
        )


def check_xml_file(path: Path) -> None:
    with open(path, "rb") as f:
        check_xml_prolog(f.read(XML_PROLOG_BYTES), str(path))


def check_columns(count: int, label: str) -> None:
    if count > MAX_COLUMNS:
        raise SourceError(
            f"属性列过多 — {count:,} attribute columns, over the limit of {MAX_COLUMNS:,}",
            file=label,
        )


def check_disk(dest: Path, needed: int, label: str) -> None:
    """Refuse before unpacking what the temp directory's disk cannot hold."""
    free = shutil.disk_usage(dest).free
    if needed > free:
        raise SourceError(
            f"磁盘空间不足 — unpacking needs {needed:,} bytes, {free:,} free", file=label
        )
