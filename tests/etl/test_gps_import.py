"""`onemap import vehicle_positions`: dedupe, invalid fixes, jumps, late and out-of-order
batches, partitions, tracks and trips — with exact counts."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

from tests.etl.conftest import rows, scalar

LAT = 31.9


def fix(code: str, hhmmss: str, lon, lat=LAT, speed=28.0, day: str = "2024-05-01") -> list:
    return [code, f"{day} {hhmmss}", lon, lat, speed, 90]


def moving(minute: int) -> float:
    return round(121.20 + 0.005 * minute, 6)  # ≈ 472 m per minute ≈ 28 km/h


def write_csv(path: Path, body: list[list]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["车辆编号", "定位时间", "经度", "纬度", "速度", "方向"])
        w.writerows(body)
    return path


def last_log(edb) -> dict:
    return scalar(edb, "SELECT details FROM import_log ORDER BY id DESC LIMIT 1")


def test_gps_import_counts_tracks_trips(edb, run, tmp_path: Path):
    vehicles = tmp_path / "vehicles.csv"
    vehicles.write_text(
        "车辆编号,车牌号,车辆类型\nV1,苏F00001,清扫车\nV2,苏F00002,环卫车\n", "utf-8"
    )
    assert run("import", "vehicles", vehicles).exit_code == 0
    assert rows(edb, "SELECT code, plate, kind, geom IS NULL FROM vehicles ORDER BY code") == [
        ("V1", "苏F00001", "sweeper", True),
        ("V2", "苏F00002", "sanitation", True),
    ]

    # V2 on the next day: a clean file (the typed COPY fast path)
    clean = write_csv(
        tmp_path / "v2.csv",
        [fix("V2", f"09:0{m}:00", 121.30 + 0.001 * m, day="2024-05-02", speed=6) for m in range(3)],
    )
    result = run("import", "vehicle_positions", clean)
    assert result.exit_code == 0, result.output
    assert (
        last_log(edb)["jumps"] == 0 and scalar(edb, "SELECT count(*) FROM vehicle_positions") == 3
    )

    body = [fix("V1", f"08:{m:02d}:00", moving(m)) for m in range(10)]  # 10 moving fixes
    body.append(fix("V1", "08:03:00", moving(3)))  # duplicate within the batch
    body.append(fix("V1", "08:05:30", moving(5) + 0.05))  # 5 km spike in 30 s: a jump
    body.append(fix("V1", "08:05:40", "", 31.9))  # no longitude: invalid
    body.append(fix("V1", "08:05:50", moving(5), 35.0))  # valid lat, outside Haimen
    body.append(["V1", "2024-13-45 25:00", moving(5), LAT, 1, 1])  # impossible time: invalid
    body += [fix("V1", f"08:{m:02d}:00", moving(9), speed=0) for m in range(10, 21)]  # 11-min stop
    body += [fix("V1", f"08:{m:02d}:00", moving(m - 11)) for m in range(21, 26)]  # moving again
    random.Random(1).shuffle(body)  # order in the file does not matter
    batch = write_csv(tmp_path / "batch1.csv", body)

    result = run("import", "vehicle_positions", batch)
    assert result.exit_code == 0, result.output
    log = last_log(edb)
    assert {
        k: log[k] for k in ("invalid", "out_of_extent", "duplicates", "jumps", "tracks", "trips")
    } == {
        "invalid": 2,
        "out_of_extent": 1,
        "duplicates": 1,
        "jumps": 1,
        "tracks": 1,
        "trips": 2,
    }
    assert rows(edb, "SELECT read_count, inserted FROM import_log ORDER BY id DESC LIMIT 1") == [
        (31, 26)
    ]
    parts = rows(
        edb,
        "SELECT tableoid::regclass::text, count(*) FROM vehicle_positions GROUP BY 1 ORDER BY 1",
    )
    assert parts == [("vehicle_positions_20240501", 26), ("vehicle_positions_20240502", 3)]

    # a late batch, out of order, as JSON Lines, with one fix already stored
    late = [
        {
            "vehicle_code": "V1",
            "fix_time": f"2024-05-01T07:{m}:00+08:00",
            "lon": moving(m - 60),
            "lat": LAT,
            "speed": 28,
        }
        for m in range(50, 56)
    ]
    late.append(
        {"vehicle_code": "V1", "fix_time": "2024-05-01 08:02:00", "lon": moving(2), "lat": LAT}
    )
    random.Random(2).shuffle(late)
    jsonl = tmp_path / "late.jsonl"
    jsonl.write_text("\n".join(json.dumps(o) for o in late) + "\n", "utf-8")
    result = run("import", "vehicle_positions", jsonl)
    assert result.exit_code == 0, result.output
    log = last_log(edb)
    assert (log["duplicates"], log["jumps"], log["invalid"]) == (1, 0, 0)
    assert rows(edb, "SELECT inserted FROM import_log ORDER BY id DESC LIMIT 1") == [(6,)]

    tracks = rows(
        edb,
        "SELECT vehicle_code, day::text, fix_count, to_char(started_at AT TIME ZONE 'Asia/Shanghai', "
        "'HH24:MI'), ST_NPoints(geom) FROM vehicle_tracks ORDER BY 1",
    )
    assert tracks == [("V1", "2024-05-01", 32, "07:50", 32), ("V2", "2024-05-02", 3, "09:00", 3)]
    trips = rows(
        edb,
        "SELECT vehicle_code, fix_count, to_char(started_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI'), "
        "to_char(ended_at AT TIME ZONE 'Asia/Shanghai', 'HH24:MI') FROM vehicle_trips ORDER BY 1, 3",
    )
    assert trips == [
        ("V1", 16, "07:50", "08:09"),
        ("V1", 5, "08:21", "08:25"),
        ("V2", 3, "09:00", "09:02"),
    ]
    m_ok = scalar(
        edb,
        "SELECT bool_and(ST_M(ST_StartPoint(geom)) = extract(epoch FROM started_at)) FROM vehicle_trips",
    )
    assert m_ok
    assert rows(
        edb,
        "SELECT code, to_char(last_fix_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI') "
        "FROM vehicles ORDER BY code",
    ) == [("V1", "05-01 08:25"), ("V2", "05-02 09:02")]

    # the same batch again: nothing new
    result = run("import", "vehicle_positions", batch)
    assert result.exit_code == 0
    log = last_log(edb)
    assert (log["duplicates"], log["jumps"]) == (27, 1)
    assert scalar(edb, "SELECT inserted FROM import_log ORDER BY id DESC LIMIT 1") == 0
    assert scalar(edb, "SELECT count(*) FROM vehicle_positions") == 35


def test_gps_file_without_required_columns(edb, run, tmp_path: Path):
    path = tmp_path / "bad.csv"
    path.write_text("who,when\nV1,2024-05-01 08:00\n", "utf-8")
    result = run("import", "vehicle_positions", path)
    assert result.exit_code == 1
    assert "bad.csv" in result.output and "missing columns" in result.output
    assert scalar(edb, "SELECT count(*) FROM vehicle_positions") == 0
