"""Hostile files are refused with the reason, and nothing is written or unpacked.

GIS staff import what other departments send: zip bombs (.zip, .kmz and .xlsx are
all zips), XML with entities (XXE reads local files; nested entities expand to
gigabytes), tables too wide to be a layer, .dbf text in no encoding it claims.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import openpyxl
import shapely

from etl.readers import guards
from tests.etl.conftest import scalar
from tests.etl.test_vector_import import grid_frame

BOMB_BYTES = 100 * 1024**2  # 100 MiB of zeros deflate to ~100 KiB: ratio ~1000


def _cameras_shapefile(folder: Path) -> Path:
    cams = gpd.GeoDataFrame(
        {"code": ["C1"], "kind": ["xueliang"], "name": ["南门口"]},
        geometry=[shapely.Point(121.205, 31.905)],
        crs="EPSG:4326",
    )
    cams.to_file(folder / "cams.shp", encoding="UTF-8")
    return folder / "cams.shp"


def _zeros_member(archive: zipfile.ZipFile, name: str, size: int = BOMB_BYTES) -> None:
    with archive.open(name, "w", force_zip64=True) as out:
        block = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            out.write(block)


def _refused(result, *words: str) -> None:
    assert result.exit_code != 0, result.output
    for word in words:
        assert word in result.output, result.output


def _nothing_written(edb, table: str) -> None:
    assert scalar(edb, f"SELECT count(*) FROM {table}") == 0
    assert scalar(edb, "SELECT count(*) FROM import_log WHERE status IN ('ok', 'partial')") == 0


def _zipped_cameras(tmp_path: Path, *, skip: str = "", prefix: str = "", padding: str = "") -> Path:
    """cams.zip with the shapefile's parts (`skip` one of them), each named `prefix`+name,
    plus a member of BOMB_BYTES zeros named `padding` (deflated to ~100 KiB)."""
    src = tmp_path / "src"
    src.mkdir()
    _cameras_shapefile(src)
    archive = tmp_path / "cams.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for part in sorted(src.glob("cams.*")):
            if part.name != skip:
                zf.write(part, prefix + part.name)
        if padding:
            _zeros_member(zf, padding)
    return archive


def test_zip_bomb_dbf_refused_before_unpacking(edb, run, tmp_path: Path):
    archive = _zipped_cameras(tmp_path, skip="cams.dbf", padding="cams.dbf")
    assert archive.stat().st_size < BOMB_BYTES // 100
    _refused(run("import", "cameras", archive), "zip bomb", "cams.dbf")
    _nothing_written(edb, "cameras")


def test_unused_huge_member_is_never_unpacked(edb, run, tmp_path: Path):
    """Only the shapefile's own parts are unpacked: a padding member costs nothing."""
    archive = _zipped_cameras(tmp_path, padding="padding.bin")
    result = run("import", "cameras", archive)
    assert result.exit_code == 0, result.output
    assert scalar(edb, "SELECT count(*) FROM cameras") == 1


def test_zip_member_escaping_the_folder_refused(edb, run, tmp_path: Path):
    archive = _zipped_cameras(tmp_path, prefix="../")
    _refused(run("import", "cameras", archive), "unsafe path")
    _nothing_written(edb, "cameras")


KML_XXE = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE kml [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<kml xmlns="http://www.opengis.net/kml/2.2"><Document><Placemark><name>&xxe;</name>
<Point><coordinates>121.2,31.9</coordinates></Point></Placemark></Document></kml>
"""


def test_kml_with_external_entity_refused(edb, run, tmp_path: Path):
    kml = tmp_path / "cams.kml"
    kml.write_text(KML_XXE)
    _refused(run("import", "cameras", kml), "DOCTYPE")
    _nothing_written(edb, "cameras")


def test_kmz_with_external_entity_refused(edb, run, tmp_path: Path):
    kmz = tmp_path / "cams.kmz"
    with zipfile.ZipFile(kmz, "w") as zf:
        zf.writestr("doc.kml", KML_XXE)
    _refused(run("import", "cameras", kmz), "DOCTYPE")
    _nothing_written(edb, "cameras")


def test_xlsx_bomb_refused_before_openpyxl(edb, run, tmp_path: Path):
    book = tmp_path / "cams.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["code", "kind", "lon", "lat"])
    wb.active.append(["C1", "xueliang", 121.205, 31.905])
    wb.save(book)
    with zipfile.ZipFile(book, "a", compression=zipfile.ZIP_DEFLATED) as zf:
        _zeros_member(zf, "xl/media/padding.bin")
    _refused(run("import", "cameras", book), "zip bomb")
    _nothing_written(edb, "cameras")


def test_csv_too_wide_refused(edb, run, tmp_path: Path):
    wide = tmp_path / "cams.csv"
    header = ["code", "kind", "lon", "lat"] + [f"c{i}" for i in range(guards.MAX_COLUMNS)]
    wide.write_text(",".join(header) + "\n" + ",".join(["C1", "xueliang", "121.2", "31.9"]) + "\n")
    _refused(run("import", "cameras", wide), "attribute columns")
    _nothing_written(edb, "cameras")


def _shapefile_with_raw_names(tmp_path: Path, raw: bytes, cpg: str | None) -> Path:
    shp = tmp_path / "grids.shp"
    frame = grid_frame()  # ASCII field names: a .dbf name holds 10 bytes
    frame.columns = ["code", "name", "town_code", "grid_type", "population", "geometry"]
    frame["name"] = ["X" * len(raw)] * len(frame)
    frame["grid_type"] = "comprehensive"
    frame.to_file(shp, encoding="UTF-8")
    dbf = tmp_path / "grids.dbf"
    dbf.write_bytes(dbf.read_bytes().replace(b"X" * len(raw), raw))
    (tmp_path / "grids.cpg").unlink()
    if cpg is not None:
        (tmp_path / "grids.cpg").write_text(cpg)
    return shp


def test_dbf_in_no_known_encoding_refused(edb, run, tmp_path: Path):
    shp = _shapefile_with_raw_names(tmp_path, b"\xff\xfe\x80\xff\xff\x81", cpg=None)
    _refused(run("import", "grids", shp), "neither UTF-8 nor GBK")
    _nothing_written(edb, "grids")


def test_dbf_not_in_its_declared_encoding_refused(edb, run, tmp_path: Path):
    shp = _shapefile_with_raw_names(tmp_path, "网格一".encode("gbk"), cpg="UTF-8")
    _refused(run("import", "grids", shp), "declares UTF-8")
    _nothing_written(edb, "grids")
