"""`onemap import raster`: a GeoTIFF checked, reprojected to EPSG:4326 if needed and
written as a Cloud-Optimized GeoTIFF with overviews, then recorded in `rasters`
so the OGC API can publish it as a coverage (layers.rasters)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

import psycopg2
import rasterio
import rasterio.shutil
from rasterio.crs import CRS as RioCRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.vrt import WarpedVRT

from etl import importlog
from etl.errors import SourceError, UsageError
from etl.report import ImportResult
from layers.rasters import record_raster

EPSG4326 = RioCRS.from_epsg(4326)


def _raster_id(path: Path, given: str | None) -> str:
    rid = given or re.sub(r"[^A-Za-z0-9_\-]", "_", path.stem)
    if not re.match(r"^[A-Za-z][A-Za-z0-9_\-]*$", rid):
        raise UsageError(
            f"栅格编号无效 — invalid raster id {rid!r}: use --id with letters, digits, _ or -"
        )
    return rid


def _validate(src: rasterio.DatasetReader, path: Path, crs: str | None) -> RioCRS:
    if src.count < 1 or src.width < 1 or src.height < 1:
        raise SourceError("栅格为空 — the raster has no pixels or bands", file=str(path))
    if src.transform.is_identity and not src.gcps[0]:
        raise SourceError("栅格没有地理参考 — the raster is not georeferenced", file=str(path))
    source_crs = RioCRS.from_user_input(crs) if crs else src.crs
    if source_crs is None:
        raise SourceError(
            "栅格没有坐标系,请用 --crs 指定 — the raster has no CRS; give --crs", file=str(path)
        )
    return source_crs


def write_cog(path: Path, out: Path, crs: str | None = None) -> dict:
    """Write `path` as a COG in EPSG:4326 at `out`; returns what the rasters row records."""
    try:
        src = rasterio.open(path)
    except RasterioIOError as exc:
        raise SourceError(f"无法读取栅格 — cannot read raster: {exc}", file=str(path)) from exc
    with src:
        source_crs = _validate(src, path, crs)
        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent, prefix=".cog-") as tmp:
            staged = Path(tmp) / out.name
            options = dict(driver="COG", COMPRESS="DEFLATE", OVERVIEWS="AUTO", BLOCKSIZE=256)
            if source_crs == EPSG4326:
                rasterio.shutil.copy(src, staged, **options)
            else:
                with WarpedVRT(
                    src, src_crs=source_crs, crs=EPSG4326, resampling=Resampling.nearest
                ) as vrt:
                    rasterio.shutil.copy(vrt, staged, **options)
            staged.replace(out)
    with rasterio.open(out) as cog:
        b = cog.bounds
        return {
            "width": cog.width,
            "height": cog.height,
            "band_count": cog.count,
            "dtype": cog.dtypes[0],
            "nodata": cog.nodata,
            "min_lon": b.left,
            "min_lat": b.bottom,
            "max_lon": b.right,
            "max_lat": b.top,
            "overviews": cog.overviews(1),
        }


def import_raster(
    dsn: str,
    path: str | Path,
    *,
    raster_dir: Path,
    raster_id: str | None = None,
    title: str | None = None,
    description: str = "",
    crs: str | None = None,
    user: str | None = None,
    job: str | None = None,
    dry_run: bool = False,
) -> ImportResult:
    path = Path(path)
    if not path.is_file():
        raise UsageError("文件不存在 — file not found", file=str(path))
    rid = _raster_id(path, raster_id)
    result = ImportResult(layer="raster", file=str(path), sha256=importlog.sha256_of(path), read=1)
    if dry_run:
        with tempfile.TemporaryDirectory() as tmp:
            meta = write_cog(path, Path(tmp) / f"{rid}.tif", crs)
        result.status = "dry-run"
        result.notes.append(f"COG {meta['width']}x{meta['height']}, overviews {meta['overviews']}")
        return result
    out = raster_dir / f"{rid}.tif"
    meta = write_cog(path, out, crs)
    who = user or importlog.current_user()
    params = {
        **meta,
        "id": rid,
        "title": title or rid,
        "description": description,
        "path": str(out),
        "source_file": str(path),
        "sha256": result.sha256,
        "who": who,
    }
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        inserted = record_raster(cur, params)
        result.inserted, result.updated = (1, 0) if inserted else (0, 1)
        result.crs = "EPSG:4326"
        result.notes.append(
            f"COG → {out} ({meta['width']}x{meta['height']}, overviews {meta['overviews']})"
        )
        entry = importlog.LogEntry(
            who=who,
            layer="raster",
            status="ok",
            file_name=str(path),
            sha256=result.sha256,
            job=job,
            read_count=1,
            inserted=result.inserted,
            updated=result.updated,
            details={"id": rid, "path": str(out), "overviews": meta["overviews"]},
        )
        result.log_id = importlog.write(cur, entry)
    conn.close()
    return result
