"""The demo dataset as loaded into PostGIS (fixture demo_db, at ONEMAP_TEST_SCALE).

Areas are measured in the stored planar lon/lat, scaled to m² at the
district's latitude (etl.demo.geography.KX/KY): geography would reinterpret
every edge as a great-circle arc, which turns a vertex lying on a
neighbour's straight edge into a sliver of metres even where the planar
coverage is exact.
"""

from __future__ import annotations

import psycopg2.extensions
import pytest
import shapely

from etl.demo import load_demo
from etl.demo.fixes import DAYS
from etl.demo.geography import KX, KY, district_lonlat, water_lonlat
from etl.demo.grids import COUNTS
from layers.tracks import rebuild_tracks

M2 = float(KX * KY)  # m² per square degree at the district


def one(conn: psycopg2.extensions.connection, query: str, params: tuple = ()) -> tuple:
    with conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchone()


@pytest.fixture()
def conn(demo_db: str, db: psycopg2.extensions.connection) -> psycopg2.extensions.connection:
    return db


def test_grid_counts_per_type_are_exact(conn) -> None:  # noqa: ANN001
    for grid_type, n in COUNTS.items():
        got = one(conn, "SELECT count(*) FROM grids WHERE grid_type = %s", (grid_type,))[0]
        assert got == n, grid_type
    assert one(conn, "SELECT bool_and(ST_IsValid(geom)) FROM grids")[0]


@pytest.mark.parametrize("grid_type", sorted(COUNTS))
def test_grids_of_a_type_do_not_overlap(conn, grid_type: str) -> None:  # noqa: ANN001
    worst = one(
        conn,
        """SELECT coalesce(max(ST_Area(ST_Intersection(a.geom, b.geom))), 0)
           FROM grids a JOIN grids b ON a.gid < b.gid AND ST_Intersects(a.geom, b.geom)
           WHERE a.grid_type = %s AND b.grid_type = %s""",
        (grid_type, grid_type),
    )[0]
    assert worst * M2 <= 1.0


@pytest.mark.parametrize("grid_type", sorted(COUNTS))
def test_grids_of_a_type_cover_the_district_without_gap(conn, grid_type: str) -> None:  # noqa: ANN001
    district = shapely.to_wkb(district_lonlat(), hex=True)
    gap = one(
        conn,
        """SELECT ST_Area(ST_SymDifference(ST_Union(geom), ST_GeomFromWKB(decode(%s, 'hex'), 4326)))
           FROM grids WHERE grid_type = %s""",
        (district, grid_type),
    )[0]
    assert gap * M2 <= 1.0
    # and each grid lies in the town its town_code names
    stray = one(
        conn,
        """SELECT count(*) FROM grids g JOIN towns t ON t.code = g.town_code
           WHERE g.grid_type = %s AND ST_Area(ST_Difference(g.geom, t.geom)) * %s > 1""",
        (grid_type, M2),
    )[0]
    assert stray == 0


@pytest.mark.parametrize("table", ["cameras", "events"])
def test_points_inside_district_and_their_grid(conn, table: str) -> None:  # noqa: ANN001
    district = shapely.to_wkb(district_lonlat(), hex=True)
    total, outside, wrong = one(
        conn,
        f"""SELECT count(*),
                   count(*) FILTER (WHERE NOT ST_Contains(ST_GeomFromWKB(decode(%s, 'hex'), 4326), p.geom)),
                   count(*) FILTER (WHERE g.code IS DISTINCT FROM p.grid_code
                                       OR g.town_code IS DISTINCT FROM p.town_code)
            FROM {table} p
            LEFT JOIN grids g ON g.grid_type = 'comprehensive' AND ST_Contains(g.geom, p.geom)""",
        (district,),
    )
    assert total > 0
    assert (outside, wrong) == (0, 0)


def test_riverside_cameras_stand_by_the_water(conn) -> None:  # noqa: ANN001
    water = shapely.to_wkb(water_lonlat(), hex=True)
    total, far = one(
        conn,
        """SELECT count(*), count(*) FILTER (WHERE NOT ST_DWithin(
                      ST_GeomFromWKB(decode(%s, 'hex'), 4326)::geography, c.geom::geography, 800))
           FROM cameras c WHERE kind = 'riverside'""",
        (water,),
    )
    assert total > 0 and far == 0
    assert one(conn, "SELECT count(*) FROM river_patrol_zones")[0] == 60


def test_one_track_per_vehicle_day_with_all_its_fixes(conn) -> None:  # noqa: ANN001
    vehicles = one(conn, "SELECT count(*) FROM vehicles")[0]
    # the tests' demo keeps the fixes before the anchor day (tests/conftest.py: `until`)
    assert one(conn, "SELECT count(*) FROM vehicle_tracks")[0] == vehicles * (DAYS - 1)
    mismatched = one(
        conn,
        """SELECT count(*) FROM vehicle_tracks t
           FULL JOIN (SELECT vehicle_code, (fix_time AT TIME ZONE 'Asia/Shanghai')::date AS day, count(*) n
                      FROM vehicle_positions GROUP BY 1, 2) p USING (vehicle_code, day)
           WHERE t.fix_count IS DISTINCT FROM p.n OR ST_NPoints(t.geom) <> p.n
              OR ST_M(ST_StartPoint(t.geom)) <> extract(epoch FROM t.started_at)""",
    )[0]
    assert mismatched == 0
    assert (
        one(conn, "SELECT count(*) FROM vehicles WHERE last_fix_at IS NULL OR geom IS NULL")[0] == 0
    )


def test_positions_live_in_day_partitions(conn) -> None:  # noqa: ANN001
    rows = one(
        conn,
        """SELECT count(*) FILTER (WHERE tableoid = 'vehicle_positions_default'::regclass),
                  count(*) FILTER (WHERE tableoid::regclass::text <> 'vehicle_positions_'
                                   || to_char(fix_time AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')),
                  count(*)
           FROM vehicle_positions""",
    )
    assert rows[0] == 0 and rows[1] == 0 and rows[2] > 0


def test_land_vehicles_stay_in_the_district(conn) -> None:  # noqa: ANN001
    district = shapely.to_wkb(district_lonlat(), hex=True)
    outside = one(
        conn,
        """SELECT count(*) FROM vehicle_positions p JOIN vehicles v ON v.code = p.vehicle_code
           WHERE v.kind NOT IN ('patrol_boat', 'fishing_boat', 'cargo_ship')
             AND NOT ST_Contains(ST_GeomFromWKB(decode(%s, 'hex'), 4326), p.geom)""",
        (district,),
    )[0]
    assert outside == 0


def test_event_loop_is_consistent(conn) -> None:  # noqa: ANN001
    bad, old_open_share, recent_open = one(
        conn,
        """WITH now AS (SELECT max(created_at) AS t FROM events)
           SELECT count(*) FILTER (WHERE (status = 'closed') <> (closed_at IS NOT NULL)
                                      OR closed_at < created_at OR due_at <= created_at),
                  avg((status <> 'closed')::int) FILTER (WHERE created_at < now.t - interval '60 days'),
                  count(*) FILTER (WHERE status <> 'closed' AND created_at > now.t - interval '1 day')
           FROM events, now""",
    )
    assert bad == 0
    assert old_open_share < 0.02  # old cases are almost all closed
    assert recent_open > 0  # the last day's cases are still being handled
    contacts = one(
        conn,
        """SELECT count(*), count(*) FILTER (WHERE reporter_phone !~ '^100-[0-9]{4}-[0-9]{4}$')
           FROM event_contacts""",
    )
    assert contacts[0] > 0 and contacts[1] == 0


def test_rebuild_tracks_for_one_vehicle_day_is_an_upsert(conn) -> None:  # noqa: ANN001
    code, day, n = one(
        conn, "SELECT vehicle_code, day, fix_count FROM vehicle_tracks ORDER BY code LIMIT 1"
    )
    assert rebuild_tracks(conn, [code], [day]) == 1
    assert one(
        conn,
        "SELECT count(*), max(fix_count) FROM vehicle_tracks WHERE vehicle_code = %s AND day = %s",
        (code, day),
    ) == (1, n)


def test_second_load_without_reload_is_a_no_op(demo_db: str, conn) -> None:  # noqa: ANN001
    before = one(conn, "SELECT (SELECT count(*) FROM events), (SELECT max(updated_at) FROM events)")
    report = load_demo(demo_db, scale=0.5)
    assert report.loaded is False
    assert (
        one(conn, "SELECT (SELECT count(*) FROM events), (SELECT max(updated_at) FROM events)")
        == before
    )
