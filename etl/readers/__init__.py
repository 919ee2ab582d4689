"""Readers: one per family of formats, all returning a `Source` (attributes + geometries + CRS)."""

from __future__ import annotations

from pathlib import Path

from etl.errors import SourceError, UsageError
from etl.readers.base import Source
from etl.readers.tabular import read_csv, read_xlsx
from etl.readers.vector import read_vector, read_zip

__all__ = ["Source", "read_source"]

_VECTOR = {".shp", ".gpkg", ".geojson", ".json", ".kml", ".kmz", ".fgb", ".gml"}


def read_source(
    path: str | Path,
    *,
    table: str | None = None,
    x: str | None = None,
    y: str | None = None,
    encoding: str | None = None,
) -> Source:
    """Read any supported file; `table` picks a GeoPackage table / KML folder / sheet / zip member."""
    path = Path(path)
    if not path.exists():
        raise UsageError("文件不存在 — file not found", file=str(path))
    suffix = path.suffix.lower()
    if suffix == ".zip":
        return read_zip(path, table=table, encoding=encoding)
    if suffix in _VECTOR:
        return read_vector(path, table=table, encoding=encoding)
    if suffix in (".csv", ".txt", ".tsv"):
        return read_csv(path, x=x, y=y, encoding=encoding)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path, sheet=table, x=x, y=y)
    if suffix == ".xls":
        raise SourceError(
            "不支持旧版 .xls,请另存为 .xlsx — legacy .xls is not supported; save as .xlsx",
            file=str(path),
        )
    raise UsageError(f"不支持的文件格式 — unsupported file type {suffix!r}", file=str(path))
