"""Collections' extents come from the data and follow it when the layer changes."""

from __future__ import annotations

import psycopg2
import pytest

from gis_server.ogc import extents

_SHIFTED = ("created_at", "due_at", "closed_at", "dispatched_at", "accepted_at",
            "resolved_at", "verified_at", "overdue_at")  # fmt: skip
_KEPT = ("title", "source", "category", "subcategory", "status", "priority", "grid_code",
         "town_code", "department", "address", "description", "department_code", "grid_worker",
         "dispatch_reason", "version", "escalation_level", "satisfaction", "photos")  # fmt: skip
# one event copied (every check constraint holds), moved in space and 400 days on in time
_COPY_EVENT = (
    f"INSERT INTO events (code, geom, {', '.join(_KEPT + _SHIFTED)}) "
    "SELECT %(code)s, ST_SetSRID(ST_Point(%(x)s, %(y)s), 4326), "
    + ", ".join(_KEPT + tuple(f"{c} + interval '400 days'" for c in _SHIFTED))
    + " FROM events ORDER BY gid LIMIT 1"
)


def _extent(client, cid):
    body = client.get(f"/ogc/collections/{cid}").json()
    return body["extent"]


def test_cameras_extent_is_the_data_box(client, sql):
    expected = sql(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) e FROM cameras) s"
    )[0]
    extent = _extent(client, "cameras")
    assert extent["spatial"]["bbox"][0] == pytest.approx(list(expected), abs=1e-6)
    assert extent["spatial"]["crs"].endswith("/CRS84")


def test_events_temporal_extent_is_min_max_of_created_at(client, sql):
    lo, hi = sql("SELECT min(created_at), max(created_at) FROM events")[0]
    interval = _extent(client, "events")["temporal"]["interval"][0]
    assert [s.replace("Z", "+00:00") for s in interval] == [lo.isoformat(), hi.isoformat()]


def test_extent_grows_when_a_feature_is_added_outside_it(client, demo_db, sql):
    before = _extent(client, "events")["spatial"]["bbox"][0]
    listed = next(
        c for c in client.get("/ogc/collections").json()["collections"] if c["id"] == "events"
    )
    assert listed["extent"]["spatial"]["bbox"][0] == before
    x, y = before[2] + 0.05, before[3] + 0.05
    code = "TEST-EXTENT-1"
    conn = psycopg2.connect(demo_db)
    try:
        with conn, conn.cursor() as cur:
            cur.execute(_COPY_EVENT, {"code": code, "x": x, "y": y})
        client.app.state.ogc.fast.versions.invalidate()  # not waiting out the 1 s copy
        after = _extent(client, "events")
        assert after["spatial"]["bbox"][0][2:] == pytest.approx([x, y], abs=1e-9)
        assert after["spatial"]["bbox"][0][:2] == pytest.approx(before[:2], abs=1e-9)
        hi = sql("SELECT max(created_at) FROM events")[0][0]
        assert after["temporal"]["interval"][0][1].replace("Z", "+00:00") == hi.isoformat()
    finally:
        with conn, conn.cursor() as cur:
            cur.execute("DELETE FROM events WHERE code = %s", (code,))
        conn.close()
        client.app.state.ogc.fast.versions.invalidate()  # later tests see the extent without it


def test_estimated_extent_of_a_partitioned_table(client, demo_db, sql, monkeypatch):
    """Above the estimate threshold the planner's box is used; a partitioned parent
    (vehicle_positions) unions its partitions' boxes."""
    conn = psycopg2.connect(demo_db)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("ANALYZE vehicle_positions")
    conn.close()
    monkeypatch.setattr(extents, "ESTIMATE_ABOVE_ROWS", -1)
    client.app.state.ogc.extents._kept.clear()
    exact = sql(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
        "FROM (SELECT ST_Extent(geom) e FROM vehicle_positions) s"
    )[0]
    box = _extent(client, "vehicle_positions")["spatial"]["bbox"][0]
    assert box == pytest.approx(list(exact), abs=1e-3)  # float4 statistics
    assert box != pytest.approx(list(client.app.state.settings.district.extent), abs=1e-3)
