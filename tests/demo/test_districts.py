"""`onemap demo --districts 3`: Haimen, 启东 and 通州 loaded side by side (tests/demo/districts_db.py).

Counts follow Haimen's per km² (computed here from the boundaries, not written down),
codes carry their district's, every feature lies in its district, each district's grids
tile it (the grid topology check, district by district) and dispatch of a point in 启东
goes to a 启东 grid and a 启东 department.
"""

from __future__ import annotations

import psycopg2
import pytest
import shapely

from etl.demo import cameras as cams
from etl.demo import vehicles as fleet
from etl.demo.districts import demo_districts
from etl.demo.events import BASE_COUNT
from etl.demo.geography import KX, KY, district_lonlat, load_geography
from etl.demo.grids import COUNTS
from layers import topology
from layers.dispatch import intake, locate, rules
from layers.dispatch.scope import Actor
from tests.demo.districts_db import DISTRICTS, SCALE, districts_db  # noqa: F401 - fixture

CHOSEN = demo_districts(DISTRICTS)
CODES = [d.code for d in CHOSEN]
M2 = float(KX * KY)  # m² per square degree


@pytest.fixture()
def cur(districts_db: str):  # noqa: ANN201, F811
    conn = psycopg2.connect(districts_db)
    try:
        with conn.cursor() as c:
            yield c
    finally:
        conn.rollback()
        conn.close()


def _rows(cur, query: str, params: tuple = ()) -> dict:  # noqa: ANN001
    cur.execute(query, params)
    return {row[0]: row[1:] if len(row) > 2 else row[1] for row in cur.fetchall()}


def _land_factor(code: str) -> float:
    return float(shapely.area(load_geography(code).land) / shapely.area(load_geography().land))


def test_the_nearest_neighbours_are_chosen_first() -> None:
    assert CODES == ["320614", "320681", "320612"]


def test_counts_per_district_follow_haimen_per_km2(cur) -> None:  # noqa: ANN001
    towns = _rows(cur, "SELECT district_code, count(*) FROM towns GROUP BY 1")
    assert towns == {"320614": 16, **{d.code: len(d.towns) for d in CHOSEN[1:]}}
    grids = _rows(cur, "SELECT district_code || grid_type, count(*) FROM grids GROUP BY 1")
    haimen_km2 = shapely.area(load_geography().district)
    for code in CODES:
        ratio = (
            1.0 if code == "320614" else shapely.area(load_geography(code).district) / haimen_km2
        )
        for grid_type, n in COUNTS.items():
            assert grids[code + grid_type] == round(n * ratio), (code, grid_type)
    events = _rows(cur, "SELECT district_code, count(*) FROM events GROUP BY 1")
    cameras = _rows(cur, "SELECT district_code, count(*) FROM cameras GROUP BY 1")
    vehicles = _rows(cur, "SELECT district_code, count(*) FROM vehicles GROUP BY 1")
    for code in CODES:
        scale = SCALE * _land_factor(code)
        assert events[code] == max(1, round(BASE_COUNT * scale)), code
        assert cameras[code] == sum(cams.scaled_counts(scale).values()), code  # all have a shore
        assert vehicles[code] == sum(fleet.scaled_counts(scale).values()), code
    assert set(
        _rows(cur, "SELECT district_code, count(*) FROM river_patrol_zones GROUP BY 1")
    ) == set(CODES)


def test_codes_carry_their_district(cur) -> None:  # noqa: ANN001
    prefix = {d.code: d.prefix for d in CHOSEN}
    checks = {
        "towns": "left(code, 6) = district_code",
        "grids": "left(code, 6) = district_code",
        "cameras": "left(code, 6) = district_code",
        "vehicles": "split_part(code, '-', 1) = (%(p)s::jsonb ->> district_code)",
        "river_patrol_zones": "split_part(code, '-', 1) = (%(p)s::jsonb ->> district_code)",
        "events": "left(code, 2) = (%(p)s::jsonb ->> district_code)",
    }
    import json

    for table, ok in checks.items():
        cur.execute(
            f"SELECT count(*), count(*) FILTER (WHERE NOT ({ok})) FROM {table}",  # noqa: S608
            {"p": json.dumps(prefix)},
        )
        total, wrong = cur.fetchone()
        assert total > 0 and wrong == 0, table
    # each neighbour's lead departments are its own (启东市城市管理局 …), not Haimen's
    cur.execute(
        """SELECT e.district_code, count(*) FILTER (WHERE NOT (d.code LIKE %s || '-%%'
                                                       OR d.town_code = e.town_code))
           FROM events e JOIN departments d ON d.code = e.department_code
           WHERE e.district_code = %s GROUP BY 1""",
        ("QD", "320681"),
    )
    assert cur.fetchall() == [("320681", 0)]


@pytest.mark.parametrize("table", ["grids", "cameras", "events", "towns"])
def test_every_feature_lies_in_its_district(cur, table: str) -> None:  # noqa: ANN001
    for code in CODES:
        district = shapely.to_wkb(district_lonlat(code), hex=True)
        # polygons: no more than a square metre outside, measured planar (as tests/demo/test_load.py)
        cur.execute(
            f"""SELECT count(*), count(*) FILTER (WHERE ST_Area(ST_Difference(geom,
                      ST_GeomFromWKB(decode(%s, 'hex'), 4326))) * %s > 1)
                FROM {table} WHERE district_code = %s""",  # noqa: S608
            (district, M2, code),
        )
        total, outside = cur.fetchone()
        assert total > 0 and outside == 0, (table, code)


@pytest.mark.parametrize("code", CODES)
def test_each_districts_grids_tile_it(cur, code: str) -> None:  # noqa: ANN001
    cur.execute("SELECT array_agg(code) FROM towns WHERE district_code = %s", (code,))
    towns = cur.fetchone()[0]
    cur.execute(
        "SELECT array_agg(code) FROM grids WHERE district_code = %s AND valid_to IS NULL", (code,)
    )
    grids = cur.fetchone()[0]
    assert topology.summary(topology.check(cur, codes=grids, towns=towns))["overlap"] == 0
    assert topology.check(cur, codes=grids, towns=towns) == []


def test_dispatch_of_a_point_in_qidong_stays_in_qidong(cur) -> None:  # noqa: ANN001
    cur.execute(
        """SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids
           WHERE district_code = '320681' AND grid_type = 'comprehensive'
           ORDER BY code LIMIT 1) g"""
    )
    lon, lat = cur.fetchone()
    place = locate.at_point(cur, lon, lat, 300)
    ticket = intake.Ticket("hotline_12345", None, "环境卫生", place, subcategory="道路不洁")
    event, _ = intake.submit(cur, ticket, Actor("test"), rules.Policy())
    cur.execute(
        """SELECT e.district_code, g.district_code, d.name FROM events e
           JOIN grids g ON g.code = e.grid_code AND g.valid_to IS NULL
           JOIN departments d ON d.code = e.department_code WHERE e.code = %s""",
        (event["code"],),
    )
    assert cur.fetchone() == ("320681", "320681", "启东市城市管理局")
