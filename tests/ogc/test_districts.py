"""A district on every layer (migration 0015): set from the feature's town, filterable in
items, CQL2 and tiles, listed as a queryable."""

from __future__ import annotations

import contextlib
import math

import mapbox_vector_tile
import psycopg2
import pytest

from layers.registry import LAYERS

OTHER = "320612"  # 通州区, a neighbour: a district the demo does not hold
_DISTRICT_LAYERS = [layer.id for layer in LAYERS if layer.prop("district_code")]


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return row, col


@pytest.fixture()
def other_camera(demo_db):
    """A town of another district and a camera in it (both removed afterwards)."""
    conn = psycopg2.connect(demo_db)
    conn.autocommit = True
    cur = conn.cursor()
    lon, lat = 121.30, 31.95
    square = f"ST_Multi(ST_Expand(ST_SetSRID(ST_Point({lon}, {lat}), 4326), 0.001))"
    try:
        cur.execute(
            "INSERT INTO towns (code, name, kind, district_code, geom, updated_at) "
            f"VALUES ('T-G-OTHER', '邻区镇', 'town', %s, {square}, now())",
            (OTHER,),
        )
        cur.execute(
            "INSERT INTO cameras (code, name, kind, status, town_code, geom, updated_at) "
            "VALUES ('CAM-G-OTHER', '邻区点位', 'xueliang', 'online', 'T-G-OTHER', "
            f"ST_SetSRID(ST_Point({lon}, {lat}), 4326), now()) RETURNING district_code"
        )
        assert cur.fetchone()[0] == OTHER  # the trigger took the town's district
        yield cur, (lon, lat)
    finally:
        with contextlib.suppress(psycopg2.Error):
            cur.execute("DELETE FROM cameras WHERE code = 'CAM-G-OTHER'")
        cur.execute("DELETE FROM towns WHERE code = 'T-G-OTHER'")
        conn.close()


def test_every_layer_with_features_has_a_district(sql, ogc_settings):
    assert set(_DISTRICT_LAYERS) >= {
        "towns", "grids", "cameras", "vehicles", "vehicle_tracks", "river_patrol_zones", "events"
    }  # fmt: skip
    for layer_id in _DISTRICT_LAYERS:
        got = sql(f"SELECT DISTINCT district_code FROM {layer_id}")
        assert got in ([(ogc_settings.district.code,)], []), layer_id


@pytest.mark.parametrize("layer_id", _DISTRICT_LAYERS)
def test_district_is_a_queryable(client, layer_id):
    body = client.get(f"/ogc/collections/{layer_id}/queryables").json()
    assert body["properties"]["district_code"]["type"] == "string"


def test_items_filter_by_district(client, sql, other_camera, ogc_settings):
    r = client.get("/ogc/collections/cameras/items", params={"district_code": OTHER})
    assert r.status_code == 200, r.text
    assert [f["id"] for f in r.json()["features"]] == ["CAM-G-OTHER"]
    assert r.json()["features"][0]["properties"]["district_code"] == OTHER
    cql = client.get(
        "/ogc/collections/cameras/items", params={"filter": f"district_code='{OTHER}'"}
    )
    assert [f["id"] for f in cql.json()["features"]] == ["CAM-G-OTHER"]
    home = client.get(
        "/ogc/collections/cameras/items",
        params={"district_code": ogc_settings.district.code, "limit": 1},
    ).json()
    assert home["numberMatched"] == sql("SELECT count(*) FROM cameras")[0][0] - 1


def test_tiles_filter_by_district(client, other_camera):
    _, (lon, lat) = other_camera
    row, col = _tile_of(lon, lat, 14)
    url = f"/ogc/collections/cameras/tiles/WebMercatorQuad/14/{row}/{col}"
    r = client.get(url, params={"filter": f"district_code = '{OTHER}'"})
    assert r.status_code == 200, r.text
    features = mapbox_vector_tile.decode(r.content)["cameras"]["features"]
    assert [f["properties"]["code"] for f in features] == ["CAM-G-OTHER"]


def test_moving_to_a_town_moves_the_district(other_camera, sql, ogc_settings):
    cur, _ = other_camera
    home_town = sql("SELECT code FROM towns WHERE code <> 'T-G-OTHER' ORDER BY code LIMIT 1")[0][0]
    cur.execute(
        "UPDATE cameras SET town_code = %s WHERE code = 'CAM-G-OTHER' RETURNING district_code",
        (home_town,),
    )
    assert cur.fetchone()[0] == ogc_settings.district.code
    # no town (or an unknown one): the district stays as it was
    cur.execute(
        "UPDATE cameras SET town_code = 'NO-SUCH' WHERE code = 'CAM-G-OTHER' "
        "RETURNING district_code"
    )
    assert cur.fetchone()[0] == ogc_settings.district.code


def test_track_takes_its_vehicles_district(other_camera, sql):
    cur, _ = other_camera
    code = sql("SELECT code FROM vehicles ORDER BY code LIMIT 1")[0][0]
    cur.execute("BEGIN")
    try:
        cur.execute("UPDATE vehicles SET town_code = 'T-G-OTHER' WHERE code = %s", (code,))
        cur.execute(
            "INSERT INTO vehicle_tracks (code, vehicle_code, day, started_at, ended_at, "
            "fix_count, geom, updated_at) VALUES ('TR-G-1', %s, '2031-01-01', now(), now(), 2, "
            "ST_SetSRID(ST_GeomFromText('LINESTRINGM(121.3 31.9 0, 121.31 31.91 1)'), 4326), "
            "now()) RETURNING district_code",
            (code,),
        )
        assert cur.fetchone()[0] == OTHER
    finally:
        cur.execute("ROLLBACK")


def test_a_town_moving_district_takes_its_features(other_camera):
    cur, _ = other_camera
    cur.execute("UPDATE towns SET district_code = '320613' WHERE code = 'T-G-OTHER'")
    cur.execute("SELECT district_code FROM cameras WHERE code = 'CAM-G-OTHER'")
    assert cur.fetchone()[0] == "320613"
