"""`onemap import` of vector layers from the files GIS staff have (written in tmp_path)."""

from __future__ import annotations

import csv
import hashlib
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import openpyxl
import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer

from etl.chinese_crs import wgs84_to_gcj02
from tests.etl.conftest import rows, scalar

NAMES = ["三厂街道一网格", "海门街道二网格", "悦来镇三网格"]


def square(x: float, y: float, d: float = 0.01) -> shapely.Polygon:
    return shapely.box(x, y, x + d, y + d)


def grid_frame(n: int = 3, shift: float = 0.0) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "网格编码": [f"G{i:03d}" for i in range(n)],
            "网格名称": NAMES[:n],
            "所属镇街": ["320614001"] * n,
            "网格类型": ["综合网格"] * n,
            "人口": [1200 + i for i in range(n)],
        },
        geometry=[square(121.20 + 0.02 * i + shift, 31.90) for i in range(n)],
        crs="EPSG:4326",
    )


def count(conn, table: str, where: str = "true") -> int:
    return scalar(conn, f"SELECT count(*) FROM {table} WHERE {where}")


def ok_logs(conn) -> int:
    return count(conn, "import_log", "status IN ('ok','partial')")


# --- formats -----------------------------------------------------------------


def test_gbk_shapefile_without_cpg_keeps_chinese(edb, run, tmp_path: Path):
    shp = tmp_path / "grids.shp"
    grid_frame().to_file(shp, encoding="GBK")
    (tmp_path / "grids.cpg").unlink()  # old ArcGIS exports: GBK .dbf, no .cpg, LDID 0
    dbf = (tmp_path / "grids.dbf").read_bytes()
    assert dbf[29] == 0 and "网格".encode("gbk") in dbf

    result = run("import", "grids", shp, "--user", "gis_staff")
    assert result.exit_code == 0, result.output
    assert "GB18030" in result.output
    assert rows(
        edb, "SELECT code, name, grid_type, population, version FROM grids ORDER BY code"
    ) == [
        ("G000", NAMES[0], "comprehensive", 1200, 1),
        ("G001", NAMES[1], "comprehensive", 1201, 1),
        ("G002", NAMES[2], "comprehensive", 1202, 1),
    ]
    log = rows(
        edb,
        "SELECT who, layer, file_name, sha256, status, read_count, inserted, updated, unchanged, "
        "rejected FROM import_log",
    )
    sha = hashlib.sha256(shp.read_bytes()).hexdigest()
    assert log == [("gis_staff", "grids", str(shp), sha, "ok", 3, 3, 0, 0, 0)]
    area = scalar(edb, "SELECT area_km2 FROM grids WHERE code = 'G000'")
    geodesic_m2 = abs(Geod(ellps="WGS84").geometry_area_perimeter(square(121.20, 31.90))[0])
    assert area == pytest.approx(geodesic_m2 / 1e6, rel=1e-4)

    again = run("import", "grids", shp)
    assert again.exit_code == 0, again.output
    assert scalar(edb, "SELECT unchanged FROM import_log ORDER BY id DESC LIMIT 1") == 3
    assert count(edb, "grids") == 3


def test_zipped_shapefile_cameras_located_in_grids(edb, run, tmp_path: Path):
    grid_frame().to_file(tmp_path / "grids.gpkg", driver="GPKG")
    assert run("import", "grids", tmp_path / "grids.gpkg").exit_code == 0
    cams = gpd.GeoDataFrame(
        # UTF-8 .dbf field names hold 10 bytes: 3 Chinese characters at most
        {"code": ["C1", "C2"], "名称": ["南门口", "北闸"], "类型": ["雪亮工程", "沿江沿河"]},
        geometry=[shapely.Point(121.205, 31.905), shapely.Point(121.245, 31.905)],
        crs="EPSG:4326",
    )
    cams.to_file(tmp_path / "cams.shp", encoding="UTF-8")
    archive = tmp_path / "cams.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for part in tmp_path.glob("cams.*"):
            if part.suffix != ".zip":
                zf.write(part, part.name)

    result = run("import", "cameras", archive, "--map", "名称=name,类型=kind")
    assert result.exit_code == 0, result.output
    assert rows(
        edb, "SELECT code, name, kind, status, grid_code, town_code FROM cameras ORDER BY code"
    ) == [
        ("C1", "南门口", "xueliang", "online", "G000", "320614001"),
        ("C2", "北闸", "riverside", "online", "G002", "320614001"),
    ]


def test_geopackage_with_two_tables_needs_table(edb, run, tmp_path: Path):
    gpkg = tmp_path / "two.gpkg"
    grid_frame().to_file(gpkg, layer="grids_2024", driver="GPKG")
    grid_frame(2, shift=0.5).to_file(gpkg, layer="grids_old", driver="GPKG")

    result = run("import", "grids", gpkg)
    assert result.exit_code == 2
    assert (
        "--table" in result.output
        and "grids_2024" in result.output
        and "grids_old" in result.output
    )
    assert count(edb, "grids") == 0 and ok_logs(edb) == 0

    result = run("import", "grids", gpkg, "--table", "grids_2024")
    assert result.exit_code == 0, result.output
    assert count(edb, "grids") == 3


def test_kml_cameras(edb, run, tmp_path: Path):
    kml = tmp_path / "cams.kml"
    gpd.GeoDataFrame(
        {"点位编码": ["K1", "K2"], "点位名称": ["江堤一号", "江堤二号"], "kind": ["riverside"] * 2},
        geometry=[shapely.Point(121.31, 31.81), shapely.Point(121.32, 31.82)],
        crs="EPSG:4326",
    ).to_file(kml, driver="KML")
    result = run("import", "cameras", kml)
    assert result.exit_code == 0, result.output
    got = rows(edb, "SELECT code, name, ST_X(geom), ST_Y(geom) FROM cameras ORDER BY code")
    assert got == [("K1", "江堤一号", 121.31, 31.81), ("K2", "江堤二号", 121.32, 31.82)]


def test_xlsx_with_jingdu_weidu(edb, run, tmp_path: Path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["点位编码", "点位名称", "类型", "状态", "经度", "纬度", "安装日期", "备注"])
    sheet.append(
        [320614001, "人民路口", "雪亮工程", "在线", 121.1812345, 31.8712345, "2023/05/06", "x"]
    )
    sheet.append(["A-2", "江边", "high_altitude", "离线", "121.40", "31.85", None, None])
    book.save(tmp_path / "cams.xlsx")

    result = run("import", "cameras", tmp_path / "cams.xlsx")
    assert result.exit_code == 0, result.output
    assert "备注" in result.output  # the ignored column is reported
    got = rows(
        edb,
        "SELECT code, name, kind, status, installed_on::text, ST_X(geom), ST_Y(geom) "
        "FROM cameras ORDER BY code",
    )
    assert got == [
        ("320614001", "人民路口", "xueliang", "online", "2023-05-06", 121.1812345, 31.8712345),
        ("A-2", "江边", "high_altitude", "offline", None, 121.4, 31.85),
    ]


def _write_csv(path: Path, header: list[str], body: list[list], encoding: str = "utf-8") -> Path:
    with path.open("w", newline="", encoding=encoding) as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        writer.writerows(body)
    return path


EVENT_HEADER = [
    "工单编号",
    "标题",
    "来源",
    "大类",
    "状态",
    "受理时间",
    "办结时间",
    "报告人",
    "联系电话",
    "lon",
    "lat",
]


def test_csv_events_contacts_go_to_event_contacts(edb, run, tmp_path: Path):
    path = _write_csv(
        tmp_path / "events.csv",
        EVENT_HEADER,
        [
            [
                "E1",
                "路灯不亮",
                "12345热线",
                "市政",
                "受理",
                "2024-05-01 08:00",
                "",
                "张三",
                "13800000000",
                121.2,
                31.9,
            ],
            [
                "E2",
                "垃圾未清",
                "grid_worker",
                "环卫",
                "closed",
                "2024-05-01T09:00:00+08:00",
                "2024-05-02 10:00",
                "",
                "",
                121.3,
                31.95,
            ],
        ],
        encoding="gb18030",
    )
    result = run("import", "events", path)
    assert result.exit_code == 0, result.output
    got = rows(
        edb,
        "SELECT code, title, source, status, priority, created_at AT TIME ZONE 'Asia/Shanghai', "
        "closed_at IS NOT NULL FROM events ORDER BY code",
    )
    assert [g[:5] for g in got] == [
        ("E1", "路灯不亮", "hotline_12345", "received", "normal"),  # 受理 (migration 0007)
        ("E2", "垃圾未清", "grid_worker", "closed", "normal"),
    ]
    assert str(got[0][5]) == "2024-05-01 08:00:00" and str(got[1][5]) == "2024-05-01 09:00:00"
    assert rows(edb, "SELECT event_code, reporter_name, reporter_phone FROM event_contacts") == [
        ("E1", "张三", "13800000000")
    ]


def test_gcj02_csv_lands_on_wgs84(edb, run, tmp_path: Path):
    truth = np.array([[121.21, 31.91], [121.45, 32.05]])
    glon, glat = wgs84_to_gcj02(truth[:, 0], truth[:, 1])
    path = _write_csv(
        tmp_path / "amap.csv",
        ["code", "name", "kind", "lng", "lat"],
        [
            ["M1", "高德点1", "xueliang", f"{glon[0]:.8f}", f"{glat[0]:.8f}"],
            ["M2", "高德点2", "xueliang", f"{glon[1]:.8f}", f"{glat[1]:.8f}"],
        ],
    )
    result = run("import", "cameras", path, "--crs", "gcj02")
    assert result.exit_code == 0, result.output
    got = rows(
        edb,
        "SELECT ST_DistanceSphere(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) FROM cameras "
        "WHERE code = 'M1' UNION ALL SELECT ST_DistanceSphere(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326)) "
        "FROM cameras WHERE code = 'M2'",
        *map(float, truth.ravel()),
    )
    assert all(d < 0.01 for (d,) in got), got  # the raw GCJ offset here is ~500 m


def test_gauss_kruger_with_and_without_zone_prefix(edb, run, tmp_path: Path):
    to_gk = Transformer.from_crs(4326, 4528, always_xy=True)  # zone 40, prefixed eastings
    frame = grid_frame()
    gk = frame.to_crs(4528)
    assert gk.total_bounds[0] > 40_000_000
    gk.to_file(tmp_path / "prefixed.shp", encoding="GBK")
    # the same coordinates labelled with the zone's unprefixed CRS (a common .prj mistake)
    mislabelled = gk.set_crs(4549, allow_override=True)
    mislabelled.to_file(tmp_path / "mislabelled.gpkg", driver="GPKG")

    result = run("import", "grids", tmp_path / "prefixed.shp")
    assert result.exit_code == 0, result.output
    assert "EPSG:4528" in result.output
    got = rows(edb, "SELECT code, ST_XMin(geom), ST_YMin(geom) FROM grids ORDER BY code")
    for (code, x, y), expected in zip(got, frame.geometry, strict=True):
        assert x == pytest.approx(expected.bounds[0], abs=1e-8), code
        assert y == pytest.approx(expected.bounds[1], abs=1e-8), code

    result = run("import", "grids", tmp_path / "mislabelled.gpkg")
    assert result.exit_code == 0, result.output
    assert "EPSG:4528" in result.output  # prefix detected, zone CRS swapped
    assert scalar(edb, "SELECT unchanged FROM import_log ORDER BY id DESC LIMIT 1") == 3
    assert to_gk  # (transformer used to document the zone; positions checked above)


# --- refusals: nothing written --------------------------------------------------


def _nothing_written(edb, table: str) -> None:
    assert count(edb, table) == 0
    assert ok_logs(edb) == 0


def test_no_crs_with_projected_coordinates_is_refused(edb, run, tmp_path: Path):
    x, y = Transformer.from_crs(4326, 4528, always_xy=True).transform(121.3, 31.9)
    path = _write_csv(
        tmp_path / "gk.csv", ["code", "name", "kind", "X", "Y"], [["P1", "点", "xueliang", x, y]]
    )
    result = run("import", "cameras", path)
    assert result.exit_code == 1
    assert "--crs" in result.output and "EPSG:4528" in result.output and "gk.csv" in result.output
    _nothing_written(edb, "cameras")

    result = run("import", "cameras", path, "--crs", "EPSG:4528")
    assert result.exit_code == 0, result.output
    ((x_back, y_back),) = rows(edb, "SELECT ST_X(geom), ST_Y(geom) FROM cameras")
    assert (x_back, y_back) == (pytest.approx(121.3, abs=1e-8), pytest.approx(31.9, abs=1e-8))


def _read_rejects(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig") as fh:
        return list(csv.reader(fh))


def test_out_of_extent_rejected(edb, run, tmp_path: Path):
    path = _write_csv(
        tmp_path / "cams.csv",
        ["code", "name", "kind", "lat", "lon"],
        [["OK1", "正常", "xueliang", 31.9, 121.3], ["BAD", "经纬度颠倒", "xueliang", 121.3, 31.9]],
    )
    result = run("import", "cameras", path)
    assert result.exit_code == 1
    rejects = _read_rejects(tmp_path / "cams.rejects.csv")
    assert rejects[0] == ["row", "code", "reason"]
    assert len(rejects) == 2 and rejects[1][:2] == ["3", "BAD"]
    assert "outside the district extent" in rejects[1][2]
    _nothing_written(edb, "cameras")
    assert scalar(edb, "SELECT status FROM import_log") == "rejected"


def test_duplicate_codes_rejected_then_allowed(edb, run, tmp_path: Path):
    frame = grid_frame()
    frame.loc[2, "网格编码"] = "G000"
    frame.to_file(tmp_path / "dup.gpkg", driver="GPKG")
    out = tmp_path / "report" / "dups.csv"
    result = run("import", "grids", tmp_path / "dup.gpkg", "--rejects", out)
    assert result.exit_code == 1
    rejects = _read_rejects(out)
    assert [r[:2] for r in rejects[1:]] == [["1", "G000"], ["3", "G000"]]
    assert "duplicate code 'G000' (also in rows 3)" in rejects[1][2]
    _nothing_written(edb, "grids")

    result = run("import", "grids", tmp_path / "dup.gpkg", "--rejects", out, "--allow-rejects")
    assert result.exit_code == 0, result.output
    assert rows(edb, "SELECT code FROM grids") == [("G001",)]
    assert rows(
        edb, "SELECT status, inserted, rejected FROM import_log WHERE status <> 'rejected'"
    ) == [("partial", 1, 2)]


def test_bad_types_name_row_and_column(edb, run, tmp_path: Path):
    frame = grid_frame()
    frame["人口"] = ["1200", "很多", "12.5"]
    frame["网格类型"] = ["综合网格", "综合网格", "不存在的类型"]
    frame.to_file(tmp_path / "bad.gpkg", driver="GPKG")
    result = run("import", "grids", tmp_path / "bad.gpkg")
    assert result.exit_code == 1
    rejects = _read_rejects(tmp_path / "bad.rejects.csv")[1:]
    assert [r[:2] for r in rejects] == [["2", "G001"], ["3", "G002"]]
    assert "人口: 不是整数 — not an integer: '很多'" in rejects[0][2]
    assert "人口: 不是整数" in rejects[1][2] and "网格类型" in rejects[1][2]
    _nothing_written(edb, "grids")


def test_wrong_geometry_type_rejected_polygon_promoted(edb, run, tmp_path: Path):
    frame = grid_frame()
    frame.loc[1, "geometry"] = shapely.LineString([(121.2, 31.9), (121.3, 31.95)])
    frame.to_file(tmp_path / "mixed.geojson", driver="GeoJSON")
    result = run("import", "grids", tmp_path / "mixed.geojson")
    assert result.exit_code == 1
    rejects = _read_rejects(tmp_path / "mixed.rejects.csv")[1:]
    assert rejects == [
        ["2", "G001", "几何类型错误 — wrong geometry type LineString, expected MultiPolygon"]
    ]
    _nothing_written(edb, "grids")
    result = run("import", "grids", tmp_path / "mixed.geojson", "--allow-rejects")
    assert result.exit_code == 0
    assert rows(edb, "SELECT DISTINCT GeometryType(geom) FROM grids") == [("MULTIPOLYGON",)]


def test_invalid_geometry_is_repaired_and_counted(edb, run, tmp_path: Path):
    frame = grid_frame(2)
    frame.loc[1, "geometry"] = shapely.Polygon(
        [(121.30, 31.90), (121.31, 31.91), (121.31, 31.90), (121.30, 31.91)]
    )  # bow-tie
    assert not frame.geometry[1].is_valid
    frame.to_file(tmp_path / "bowtie.gpkg", driver="GPKG")
    result = run("import", "grids", tmp_path / "bowtie.gpkg")
    assert result.exit_code == 0, result.output
    assert scalar(edb, "SELECT repaired FROM import_log") == 1
    assert scalar(edb, "SELECT bool_and(ST_IsValid(geom)) FROM grids") is True
    assert scalar(edb, "SELECT ST_NumGeometries(geom) FROM grids WHERE code = 'G001'") == 2


def test_corrupt_file_and_missing_key(edb, run, tmp_path: Path):
    bad = tmp_path / "broken.gpkg"
    bad.write_bytes(b"SQLite format 3\x00" + b"\x13" * 500)
    result = run("import", "grids", bad)
    assert result.exit_code == 1
    assert "broken.gpkg" in result.output and "cannot" in result.output
    frame = grid_frame().drop(columns="网格编码")
    frame.to_file(tmp_path / "nokey.gpkg", driver="GPKG")
    result = run("import", "grids", tmp_path / "nokey.gpkg")
    assert result.exit_code == 2 and "code" in result.output
    _nothing_written(edb, "grids")


def test_dry_run_writes_nothing(edb, run, tmp_path: Path):
    grid_frame().to_file(tmp_path / "g.gpkg", driver="GPKG")
    result = run("import", "grids", tmp_path / "g.gpkg", "--dry-run")
    assert result.exit_code == 0
    assert "新增 inserted 3" in result.output
    assert count(edb, "grids") == 0 and count(edb, "import_log") == 0


# --- grid versions ----------------------------------------------------------------


def test_grid_reimport_with_changed_boundary_opens_new_version(edb, run, tmp_path: Path):
    grid_frame().to_file(tmp_path / "v1.gpkg", driver="GPKG")
    assert run("import", "grids", tmp_path / "v1.gpkg").exit_code == 0
    frame = grid_frame()
    frame.loc[1, "geometry"] = square(121.22, 31.90, 0.015)  # G001 grows
    frame.loc[2, "网格名称"] = "悦来镇三网格(调整)"  # G002 renamed
    frame.to_file(tmp_path / "v2.gpkg", driver="GPKG")

    result = run("import", "grids", tmp_path / "v2.gpkg")
    assert result.exit_code == 0, result.output
    assert "新增 inserted 0, 更新 updated 2, 未变 unchanged 1" in result.output
    got = rows(
        edb,
        "SELECT code, version, name, valid_to IS NULL, population FROM grids ORDER BY code, version",
    )
    assert got == [
        ("G000", 1, NAMES[0], True, 1200),
        ("G001", 1, NAMES[1], False, 1201),
        ("G001", 2, NAMES[1], True, 1201),
        ("G002", 1, NAMES[2], False, 1202),
        ("G002", 2, "悦来镇三网格(调整)", True, 1202),
    ]
    assert scalar(
        edb,
        "SELECT bool_and(o.valid_to = n.valid_from) FROM grids o JOIN grids n "
        "ON n.code = o.code AND n.version = o.version + 1",
    )
    areas = dict(rows(edb, "SELECT version, area_km2 FROM grids WHERE code = 'G001'"))
    assert areas[2] == pytest.approx(areas[1] * 2.25, rel=1e-3)


# --- the real GCJ-02 Haimen boundary ---------------------------------------------------


def test_real_gcj02_haimen_boundary_within_100m(edb, run):
    data = Path(__file__).resolve().parents[2] / "data" / "haimen"
    result = run(
        "import",
        "towns",
        data / "haimen_district_gcj02.geojson",
        "--crs",
        "gcj02",
        "--map",
        "adcode=code,district=name",
        "--set",
        "kind=zone",
    )
    assert result.exit_code == 0, result.output
    reference = pyogrio.read_dataframe(data / "haimen_district.geojson").geometry[0]
    hausdorff_m = scalar(
        edb,
        "SELECT ST_HausdorffDistance(ST_Transform(geom, 4549), "
        "ST_Transform(ST_GeomFromText(%s, 4326), 4549)) FROM towns WHERE code = '320614'",
        reference.wkt,
    )
    raw = pyogrio.read_dataframe(data / "haimen_district_gcj02.geojson").geometry[0]
    raw_m = scalar(
        edb,
        "SELECT ST_HausdorffDistance(ST_Transform(ST_GeomFromText(%s, 4326), 4549), "
        "ST_Transform(ST_GeomFromText(%s, 4326), 4549))",
        raw.wkt,
        reference.wkt,
    )
    print(f"GCJ-02 Haimen boundary: Hausdorff {hausdorff_m:.3f} m after import, {raw_m:.1f} m raw")
    assert hausdorff_m < 100
    assert raw_m > 300  # the test would catch an import that ignored --crs gcj02


def test_located_features_take_their_towns_district(edb, run, tmp_path: Path):
    """Towns carry the district (migration 0015); a located camera gets its town's, one
    outside every town the configured default."""
    towns = gpd.GeoDataFrame(
        {
            "code": ["320612001", "320614001"],
            "name": ["邻区镇", "海门街道"],
            "kind": ["town", "subdistrict"],
            "district_code": ["320612", "320614"],
        },
        geometry=[square(121.20, 31.90, 0.02), square(121.30, 31.90, 0.02)],
        crs="EPSG:4326",
    )
    towns.to_file(tmp_path / "towns.gpkg", driver="GPKG")
    assert run("import", "towns", tmp_path / "towns.gpkg").exit_code == 0
    cams = gpd.GeoDataFrame(
        {"code": ["C1", "C2", "C3"], "name": ["甲", "乙", "丙"], "kind": ["雪亮工程"] * 3},
        geometry=[
            shapely.Point(121.21, 31.91),
            shapely.Point(121.31, 31.91),
            shapely.Point(121.45, 31.91),
        ],  # fmt: skip
        crs="EPSG:4326",
    )
    cams.to_file(tmp_path / "cams.gpkg", driver="GPKG")
    result = run("import", "cameras", tmp_path / "cams.gpkg")
    assert result.exit_code == 0, result.output
    assert rows(edb, "SELECT code, town_code, district_code FROM cameras ORDER BY code") == [
        ("C1", "320612001", "320612"),
        ("C2", "320614001", "320614"),
        ("C3", None, "320614"),
    ]
