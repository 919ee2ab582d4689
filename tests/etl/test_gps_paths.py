"""The GPS importer's two ways of writing: a fresh day (bulk-built partition, tracks and
trips built in numpy) and a day that already has a partition (ON CONFLICT insert,
tracks and trips rebuilt in SQL) must give the same rows."""

from __future__ import annotations

import random
from pathlib import Path

import psycopg2

from etl.gps_partitions import reserve_ids
from layers.tracks import rebuild_tracks
from layers.trips import rebuild_trips
from tests.etl.conftest import rows, scalar
from tests.etl.test_gps_import import fix, write_csv

DAYS = ("2031-03-01", "2031-03-02")
PARTS = ("vehicle_positions_20310301", "vehicle_positions_20310302")

POSITIONS = (
    "SELECT vehicle_code, fix_time, speed_kmh, heading, ST_AsEWKB(geom), tableoid::regclass::text "
    "FROM vehicle_positions ORDER BY 1, 2"
)
TRACKS = (
    "SELECT code, vehicle_code, plate, kind, day, started_at, ended_at, fix_count, "
    "distance_km, ST_AsEWKB(geom) FROM vehicle_tracks ORDER BY code"
)
TRIPS = (
    "SELECT code, vehicle_code, day, started_at, ended_at, fix_count, distance_km, "
    "max_speed_kmh, ST_AsEWKB(geom) FROM vehicle_trips ORDER BY code"
)


def day_of_fixes(code: str, day: str, seed: int) -> list[list]:
    """Moving, a 6-minute stop, a 15-minute feed gap, fixes without speed, a lone spike."""
    rnd = random.Random(seed)
    lon, body = 121.2 + seed * 0.01, []
    for m in range(60):
        if 20 <= m < 26:  # stopped (speed 0)
            body.append(fix(code, f"09:{m:02d}:00", round(lon, 6), day=day, speed=0))
            continue
        if 30 <= m < 45:  # feed gap
            continue
        lon += 0.004 + rnd.random() * 0.002
        speed = "" if 50 <= m < 55 else round(20 + rnd.random() * 10, 1)
        body.append(fix(code, f"09:{m:02d}:00", round(lon, 6), day=day, speed=speed))
    body.append(fix(code, "09:10:30", round(lon + 0.08, 6), day=day))  # spike: a jump
    return body


def batch(tmp_path: Path) -> Path:
    body = []
    for i, code in enumerate(("P1", "P2")):
        for j, day in enumerate(DAYS):
            body += day_of_fixes(code, day, seed=i * 2 + j)
    body.append(fix("P3", "12:00:00", 121.3, day=DAYS[1]))  # a one-fix day
    body.append(fix("P3", "12:00:00", 121.3, day=DAYS[1]))  # and its duplicate
    random.Random(5).shuffle(body)
    return write_csv(tmp_path / "paths.csv", body)


def snapshot(conn) -> dict[str, list[tuple]]:
    return {
        "positions": rows(conn, POSITIONS),
        "tracks": rows(conn, TRACKS),
        "trips": rows(conn, TRIPS),
    }


def drop_partitions(conn) -> None:
    with conn.cursor() as cur:
        for part in PARTS:
            cur.execute(f"DROP TABLE IF EXISTS {part}")


def test_fresh_and_existing_partitions_give_the_same_rows(edb, run, tmp_path: Path):
    drop_partitions(edb)
    path = batch(tmp_path)
    result = run("import", "vehicle_positions", path)
    assert result.exit_code == 0, result.output
    fresh = snapshot(edb)
    assert {p for *_, p in fresh["positions"]} == set(PARTS)
    assert len(fresh["tracks"]) == 5 and len(fresh["trips"]) >= 8
    log = scalar(edb, "SELECT details FROM import_log ORDER BY id DESC LIMIT 1")
    assert (log["duplicates"], log["jumps"]) == (1, 4)

    with edb.cursor() as cur:  # the partitions stay: the second import takes the other path
        cur.execute("TRUNCATE vehicle_positions, vehicle_tracks, vehicle_trips")
    result = run("import", "vehicle_positions", path)
    assert result.exit_code == 0, result.output
    assert snapshot(edb) == fresh


def test_numpy_tracks_and_trips_equal_the_sql_builders(edb, etl_dsn, run, tmp_path: Path):
    drop_partitions(edb)
    assert run("import", "vehicle_positions", batch(tmp_path)).exit_code == 0
    built = snapshot(edb)
    conn = psycopg2.connect(etl_dsn)
    try:
        codes = ["P1", "P2", "P3"]
        assert rebuild_tracks(conn, codes, list(DAYS)) == 5
        rebuild_trips(conn, codes, list(DAYS))
        conn.commit()
    finally:
        conn.close()
    assert snapshot(edb) == built


def test_bulk_ids_are_unique_and_do_not_collide_with_the_sequence(edb, run, tmp_path: Path):
    drop_partitions(edb)
    assert run("import", "vehicle_positions", batch(tmp_path)).exit_code == 0
    with edb.cursor() as cur:
        cur.execute(
            "INSERT INTO vehicle_positions (vehicle_code, fix_time, geom) "
            "VALUES ('P9', '2031-03-01 10:00+08', ST_SetSRID(ST_MakePoint(121.3, 31.9), 4326))"
        )
    assert scalar(edb, "SELECT count(*) = count(DISTINCT id) FROM vehicle_positions")
    assert scalar(edb, "SELECT max(id) FROM vehicle_positions WHERE vehicle_code = 'P9'") == scalar(
        edb, "SELECT max(id) FROM vehicle_positions"
    )


def test_id_block_reservation_and_its_fallback_when_the_sequence_is_held(edb, etl_dsn):
    first = reserve_ids(etl_dsn, 1000)
    assert scalar(edb, "SELECT nextval('vehicle_positions_id_seq')") == first + 1000
    holder = psycopg2.connect(etl_dsn)
    try:
        with holder.cursor() as cur:  # an open transaction that has used the sequence
            cur.execute("SELECT nextval('vehicle_positions_id_seq')")
        assert reserve_ids(etl_dsn, 1000) is None  # the rows then use nextval() one by one
    finally:
        holder.rollback()
        holder.close()
    assert (
        scalar(
            edb,
            "SELECT increment_by FROM pg_sequences WHERE sequencename = 'vehicle_positions_id_seq'",
        )
        == 1
    )


def test_lenient_csv_gb18030_epoch_times_and_bad_numbers(edb, run, tmp_path: Path):
    drop_partitions(edb)
    lines = [
        "车辆编号,定位时间,经度,纬度,速度",
        "苏F1,1930590000,121.30,31.9,20",  # epoch seconds: 2031-03-07 03:00 +08
        "苏F1,1930590060000,121.301,31.9,20",  # epoch milliseconds, a minute later
        "苏F1,2031-03-07T03:02:00+08:00,121.302,31.9,abc",  # speed not a number: NULL
        "苏F1,2031-03-07 03:03:00,东经121,31.9,20",  # longitude not a number: invalid
    ]
    path = tmp_path / "gbk.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    result = run("import", "vehicle_positions", path)
    assert result.exit_code == 0, result.output
    assert scalar(edb, "SELECT details->'invalid' FROM import_log ORDER BY id DESC LIMIT 1") == 1
    assert rows(
        edb,
        "SELECT vehicle_code, to_char(fix_time AT TIME ZONE 'Asia/Shanghai', 'MM-DD HH24:MI'), "
        "speed_kmh FROM vehicle_positions ORDER BY fix_time",
    ) == [
        ("苏F1", "03-07 03:00", 20.0),
        ("苏F1", "03-07 03:01", 20.0),
        ("苏F1", "03-07 03:02", None),
    ]
