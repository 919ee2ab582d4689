"""Export → import round trips, raster → COG, `onemap etl run`, and the GCJ-02/BD-09 maths."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from pyproj import Transformer
from rasterio.transform import from_origin

from etl import chinese_crs
from etl.crs import resolve
from gis_server.ogc.coverages import coverage_resources
from tests.etl.conftest import rows, scalar
from tests.etl.test_vector_import import grid_frame


@pytest.mark.parametrize("suffix", [".gpkg", ".shp", ".geojson", ".csv", ".xlsx"])
def test_export_then_import_changes_nothing(edb, run, tmp_path: Path, suffix: str):
    frame = grid_frame()
    frame["网格员电话"] = ["13900000000", None, "0513-1234567"]
    frame.to_file(tmp_path / "in.gpkg", driver="GPKG")
    assert run("import", "grids", tmp_path / "in.gpkg").exit_code == 0
    before = rows(
        edb,
        "SELECT gid, code, version, name, worker_phone, ST_AsEWKB(geom) FROM grids ORDER BY gid",
    )

    out = tmp_path / f"grids{suffix}"
    result = run("export", "grids", out)
    assert result.exit_code == 0, result.output
    assert "exported 3" in result.output
    if suffix == ".shp":
        assert (tmp_path / "grids.cpg").read_text().strip().upper() in ("UTF-8", "UTF8")

    result = run("import", "grids", out)
    assert result.exit_code == 0, result.output
    assert "新增 inserted 0, 更新 updated 0, 未变 unchanged 3" in result.output
    assert (
        rows(
            edb,
            "SELECT gid, code, version, name, worker_phone, ST_AsEWKB(geom) FROM grids ORDER BY gid",
        )
        == before
    )


def test_full_precision_clockwise_grids_reimport_unchanged(edb, run, tmp_path: Path):
    """Grids not written by an import (the demo, QGIS, Part 4) keep full-precision
    coordinates and may wind their rings clockwise; their export re-imports unchanged
    and opens no new version (it used to report every grid updated)."""
    frame = grid_frame()
    frame.to_file(tmp_path / "in.gpkg", driver="GPKG")
    assert run("import", "grids", tmp_path / "in.gpkg").exit_code == 0
    with edb.cursor() as cur:  # what a non-import writer stores: unrounded, rings reversed
        cur.execute("UPDATE grids SET geom = ST_Reverse(ST_Translate(geom, 3.3e-10, -2.7e-10))")
    before = rows(edb, "SELECT gid, version, ST_AsEWKB(geom) FROM grids ORDER BY gid")

    out = tmp_path / "grids.gpkg"
    assert run("export", "grids", out).exit_code == 0
    result = run("import", "grids", out)
    assert result.exit_code == 0, result.output
    assert "新增 inserted 0, 更新 updated 0, 未变 unchanged 3" in result.output
    assert rows(edb, "SELECT gid, version, ST_AsEWKB(geom) FROM grids ORDER BY gid") == before

    with edb.cursor() as cur:  # a real move (1 m) is still an update
        cur.execute("UPDATE grids SET geom = ST_Translate(geom, 1e-5, 0) WHERE gid = 1")
    result = run("import", "grids", out)
    assert "更新 updated 1, 未变 unchanged 2" in result.output, result.output


def test_export_points_csv_has_lon_lat_and_chinese(edb, run, tmp_path: Path):
    path = tmp_path / "c.csv"
    path.write_text("点位编码,点位名称,类型,经度,纬度\nC9,滨江路口,雪亮工程,121.3,31.9\n", "utf-8")
    assert run("import", "cameras", path).exit_code == 0
    assert run("export", "cameras", tmp_path / "out.csv").exit_code == 0
    text = (tmp_path / "out.csv").read_text("utf-8-sig")
    assert text.splitlines()[0].endswith(",lon,lat") and "滨江路口" in text and "121.3,31.9" in text


def test_raster_becomes_cog_with_overviews(edb, run, etl_dsn, tmp_path: Path, monkeypatch):
    monkeypatch.setenv("ONEMAP_IMPORTS__RASTER_DIR", str(tmp_path / "rasters"))
    src = tmp_path / "dem.tif"
    data = np.arange(1024 * 1024, dtype="float32").reshape(1024, 1024) % 97
    with rasterio.open(
        src,
        "w",
        driver="GTiff",
        width=1024,
        height=1024,
        count=1,
        dtype="float32",
        crs="EPSG:4549",
        transform=from_origin(600000, 3540000, 20, 20),
        nodata=-9999,
    ) as dst:
        dst.write(data, 1)

    result = run("import", "raster", src, "--id", "dem", "--title", "高程 DEM")
    assert result.exit_code == 0, result.output
    cog = tmp_path / "rasters" / "dem.tif"
    with rasterio.open(cog) as ds:
        assert ds.crs.to_epsg() == 4326
        assert ds.overviews(1) and ds.overviews(1)[0] == 2
        assert ds.profile["tiled"] and ds.profile["blockxsize"] == 256
        xs, ys = Transformer.from_crs(4549, 4326, always_xy=True).transform(
            [600000, 620480, 600000, 620480], [3540000, 3540000, 3519520, 3519520]
        )
        assert ds.bounds.left == pytest.approx(min(xs), abs=1e-3)
        assert ds.bounds.right == pytest.approx(max(xs), abs=1e-3)
        assert ds.bounds.bottom == pytest.approx(min(ys), abs=1e-3)
        assert ds.bounds.top == pytest.approx(max(ys), abs=1e-3)
    assert rasterio.open(cog).tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
    row = rows(edb, "SELECT id, title, band_count, overviews FROM rasters")
    assert row[0][:3] == ("dem", "高程 DEM", 1) and row[0][3][0] == 2
    resources = coverage_resources(etl_dsn)
    provider = resources["dem"]["providers"][0]
    assert provider["type"] == "coverage" and provider["name"] == "rasterio"
    assert provider["data"] == str(cog) and provider["format"]["mimetype"] == "image/tiff"
    assert resources["dem"]["extents"]["spatial"]["bbox"][0] == pytest.approx(ds.bounds.left)

    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"II*\x00garbage")
    result = run("import", "raster", bad)
    assert result.exit_code == 1 and "bad.tif" in result.output
    assert scalar(edb, "SELECT count(*) FROM rasters") == 1


def test_etl_run_jobs_exit_codes(edb, run, tmp_path: Path, monkeypatch):
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    grid_frame().to_file(incoming / "grids_a.gpkg", driver="GPKG")
    config = tmp_path / "config.yml"
    config.write_text(
        "etl_jobs:\n"
        f"  - name: grids\n    source: {incoming}/*.gpkg\n    layer: grids\n"
        "    options: {allow_rejects: false}\n"
        f"  - name: empty\n    source: {tmp_path}/none/*.csv\n    layer: cameras\n",
        "utf-8",
    )
    monkeypatch.setenv("ONEMAP_CONFIG", str(config))
    result = run("etl", "run", "grids")
    assert result.exit_code == 0, result.output
    assert scalar(edb, "SELECT count(*) FROM grids") == 3
    assert rows(edb, "SELECT job, status, inserted FROM import_log") == [("grids", "ok", 3)]

    result = run("etl", "run")  # grids again (unchanged) + a job without files
    assert result.exit_code == 1
    assert "no file matches" in result.output
    assert rows(edb, "SELECT job, status, unchanged FROM import_log ORDER BY id")[1:] == [
        ("grids", "ok", 3),
        ("empty", "failed", 0),
    ]
    assert run("etl", "run", "nope").exit_code == 2


def test_gcj02_and_bd09_inverse_are_sub_millimetre():
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(73, 135, 5000), rng.uniform(18, 53, 5000)
    for fwd, inv in (
        (chinese_crs.wgs84_to_gcj02, chinese_crs.gcj02_to_wgs84),
        (chinese_crs.wgs84_to_bd09, chinese_crs.bd09_to_wgs84),
    ):
        x, y = fwd(lon, lat)
        assert np.hypot(x - lon, y - lat).min() > 1e-4  # the offset is real (>10 m)
        bx, by = inv(x, y)
        assert np.abs(bx - lon).max() < 1e-8 and np.abs(by - lat).max() < 1e-8  # < 1 mm
    # outside China GCJ-02 is the identity
    x, y = chinese_crs.wgs84_to_gcj02(np.array([2.35]), np.array([48.85]))
    assert (x[0], y[0]) == (2.35, 48.85)


def test_gauss_kruger_zone_detection():
    from pyproj import CRS

    assert (
        resolve(
            CRS.from_epsg(4549), None, (40_500_000, 3_500_000, 40_600_000, 3_600_000)
        ).crs.to_epsg()
        == 4528
    )
    assert (
        resolve(CRS.from_epsg(4528), None, (500_000, 3_500_000, 600_000, 3_600_000)).crs.to_epsg()
        == 4549
    )
    assert (
        resolve(
            CRS.from_epsg(4528), None, (40_500_000, 3_500_000, 40_600_000, 3_600_000)
        ).crs.to_epsg()
        == 4528
    )
    assert resolve(None, None, (121.0, 31.0, 121.5, 32.0)).crs.to_epsg() == 4326
    assert resolve(None, "bd09", (121.0, 31.0, 121.5, 32.0)).special == "bd09"
