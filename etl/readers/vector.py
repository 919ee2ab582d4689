"""GDAL-readable vector files through pyogrio: Shapefile (plain or zipped), GeoPackage,
GeoJSON, KML/KMZ."""

from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd
import pyogrio
import shapely

from etl.errors import SourceError, UsageError
from etl.readers import guards
from etl.readers.base import Source
from etl.readers.encoding import shapefile_encoding

_MEMBER_SUFFIXES = (".shp", ".gpkg", ".geojson", ".json", ".kml")


def _layers(path: Path) -> list[str]:
    try:
        return [str(name) for name, _ in pyogrio.list_layers(path)]
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise SourceError(
            f"无法读取文件 — cannot open: {_first_line(exc)}", file=str(path)
        ) from exc


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _pick_table(path: Path, table: str | None) -> str | None:
    names = _layers(path)
    if table is not None:
        if table not in names:
            raise UsageError(
                f"没有表 {table!r} — no table {table!r}; tables: {', '.join(names)}", file=str(path)
            )
        return table
    if len(names) > 1:
        raise UsageError(
            "文件有多个表,请用 --table 指定 — several tables, choose one with --table: "
            + ", ".join(names),
            file=str(path),
        )
    return names[0] if names else None


def _refuse_hostile(path: Path) -> None:
    """XML formats with a DTD and .kmz bombs, before GDAL parses them."""
    suffix = path.suffix.lower()
    if suffix in (".kml", ".gml"):
        guards.check_xml_file(path)
    elif suffix == ".kmz":
        guards.check_zip_file(path)


def _column_count(path: Path, layer: str | None, encoding: str | None) -> int:
    try:
        return len(pyogrio.read_info(path, layer=layer, encoding=encoding)["fields"])
    except Exception as exc:  # pyogrio.errors.DataSourceError and friends
        raise SourceError(
            f"无法读取文件 — cannot open: {_first_line(exc)}", file=str(path)
        ) from exc


def _sidecars(archive: zipfile.ZipFile, member: str) -> list[str]:
    """The member and its same-stem companions (.shx, .dbf, .prj, .cpg …): all that is unpacked."""
    chosen = PurePosixPath(member)
    return [
        n
        for n in archive.namelist()
        if PurePosixPath(n).parent == chosen.parent and PurePosixPath(n).stem == chosen.stem
    ]


def read_vector(
    path: Path, *, table: str | None = None, encoding: str | None = None, label: str | None = None
) -> Source:
    """Read one table of a vector file; detect the .dbf encoding of shapefiles without .cpg."""
    _refuse_hostile(path)
    layer = _pick_table(path, table)
    notes: list[str] = []
    if encoding is None and path.suffix.lower() == ".shp":
        encoding = shapefile_encoding(path)
        if encoding:
            notes.append(f"无 .cpg,检测到编码 — no .cpg; detected .dbf encoding {encoding}")
    guards.check_columns(_column_count(path, layer, encoding), label or str(path))
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, encoding=encoding)
    except Exception as exc:
        raise SourceError(
            f"无法读取文件 — cannot read: {_first_line(exc)}", file=label or str(path)
        ) from exc
    if "geometry" in frame:
        geometry = np.asarray(frame.geometry.values, dtype=object)
        crs = frame.crs
        attributes = pd.DataFrame(frame.drop(columns="geometry"))
        geometry = np.where(shapely.is_missing(geometry), None, geometry)
    else:
        geometry, crs, attributes = None, None, pd.DataFrame(frame)
    return Source(
        path=Path(label) if label else path,
        attributes=attributes.reset_index(drop=True),
        geometry=geometry,
        crs=crs,
        rows=np.arange(1, len(attributes) + 1),
        table=layer,
        encoding=encoding,
        notes=notes,
    )


def read_zip(path: Path, *, table: str | None = None, encoding: str | None = None) -> Source:
    """A zipped shapefile (or other vector file): unpack to a temp dir and read the member."""
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise SourceError("压缩包已损坏 — corrupt zip archive", file=str(path)) from exc
    with archive, tempfile.TemporaryDirectory(prefix="onemap-zip-") as tmp:
        members = [
            n
            for n in archive.namelist()
            if n.lower().endswith(_MEMBER_SUFFIXES) and not n.startswith("__MACOSX")
        ]
        if not members:
            raise SourceError("压缩包中没有矢量文件 — no vector file in the zip", file=str(path))
        stems = {Path(n).stem: n for n in members}
        if table is not None:
            if table not in stems:
                raise UsageError(
                    f"压缩包中没有 {table!r} — no {table!r} in the zip; members: "
                    + ", ".join(stems),
                    file=str(path),
                )
            member = stems[table]
        elif len(members) > 1:
            raise UsageError(
                "压缩包中有多个文件,请用 --table 指定 — several files in the zip, choose one "
                "with --table: " + ", ".join(stems),
                file=str(path),
            )
        else:
            member = members[0]
        wanted = _sidecars(archive, member)
        guards.check_archive(archive, str(path), wanted)
        guards.check_disk(Path(tmp), sum(archive.getinfo(n).file_size for n in wanted), str(path))
        guards.extract(archive, wanted, Path(tmp), str(path))
        local = Path(tmp) / PurePosixPath(member).name
        source = read_vector(local, encoding=encoding, label=f"{path}!{member}")
        source.path = path
        return source
