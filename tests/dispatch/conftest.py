"""A tiny test district for the dispatch loop, committed on the session's test database.

Town D9 (code 980001, EPSG:4549 metres from X0, Y0; far from the demo district):
comprehensive grids D9-A (x 0..100) and D9-B (x 300..400), a 200 m gap between
them, and a special grid D9-S over the west half of A. Departments D9-WATER,
D9-CITY and the town's office D9-TOWN; duty rules for the categories "D9河道"
(district), "D9河道·排污" (sub-category → D9-CITY) and "D9纠纷" (town → D9-TOWN).
"D9无规则" has no rule (the manual queue). Users of each role get API keys.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.auth import Role, store
from gis_server.settings import get_settings
from layers.dispatch.scope import set_scope

TOWN = "980001"
X0, Y0 = 450000.0, 3540000.0
GRIDS = {"D9-A": ("comprehensive", (0, 0, 100, 100)), "D9-B": ("comprehensive", (300, 0, 400, 100)),
         "D9-S": ("special", (0, 0, 50, 100))}  # fmt: skip
DEPARTMENTS = [("D9-WATER", "测试水利局", "bureau", None), ("D9-CITY", "测试城管局", "bureau", None),
               ("D9-TOWN", "测试镇综治办", "town_office", TOWN)]  # fmt: skip
RULES = [("D9河道", None, None, "D9-WATER", 120, None, None, False),
         ("D9河道", "排污", None, "D9-CITY", 72, 12, 2, True),
         ("D9纠纷", None, None, "D9-CITY", 120, None, None, False),
         ("D9纠纷", None, TOWN, "D9-TOWN", 48, None, None, False)]  # fmt: skip


def envelope(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"ST_Multi(ST_Transform(ST_MakeEnvelope({X0 + x0}, {Y0 + y0}, {X0 + x1}, {Y0 + y1}, 4549), 4326))"


def run_sql(dsn: str, query: str, params: Any = None) -> list[tuple[Any, ...]]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows


def _clear(dsn: str) -> None:
    for q in ("DELETE FROM events WHERE town_code = %(t)s OR category LIKE 'D9%%'",
              "DELETE FROM duty_rules WHERE department_code LIKE 'D9-%%'",
              "DELETE FROM users WHERE username LIKE 'd9-%%'",
              "DELETE FROM departments WHERE code LIKE 'D9-%%'",
              "DELETE FROM grids WHERE code LIKE 'D9-%%'",
              "DELETE FROM towns WHERE code = %(t)s"):  # fmt: skip
        run_sql(dsn, q, {"t": TOWN})


@pytest.fixture(scope="module")
def world(demo_db: str) -> Iterator[str]:
    """The D9 district (see the module docstring), committed; removed after each test module
    (so that later test directories see only the demo district)."""
    _clear(demo_db)
    for code, (kind, box) in GRIDS.items():
        run_sql(demo_db, "INSERT INTO grids (code, name, town_code, grid_type, worker_name, worker_phone, "
                f"version, valid_from, area_km2, geom) VALUES (%s, %s, %s, %s, %s, %s, 1, '2020-01-01', "
                f"0.01, {envelope(*box)})", (code, code, TOWN, kind, f"员{code[-1]}", "13800009999"))  # fmt: skip
    run_sql(demo_db, "INSERT INTO towns (code, name, kind, geom) SELECT %s, '测试镇', 'town', "
            "ST_Multi(ST_Union(geom)) FROM grids WHERE code IN ('D9-A', 'D9-B')", (TOWN,))  # fmt: skip
    for dept in DEPARTMENTS:
        run_sql(
            demo_db,
            "INSERT INTO departments (code, name, kind, town_code) VALUES (%s, %s, %s, %s)",
            dept,
        )
    for rule in RULES:
        run_sql(demo_db, "INSERT INTO duty_rules (category, subcategory, town_code, department_code, "
                "time_limit_hours, urgent_hours, critical_hours, same_day) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)", rule)  # fmt: skip
    yield demo_db
    _clear(demo_db)


def lonlat(dsn: str, x: float, y: float) -> tuple[float, float]:
    """WGS84 lon/lat of a point given in D9 metres."""
    return run_sql(dsn, "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID("
                   "ST_MakePoint(%s, %s), 4549), 4326) AS p) q", (X0 + x, Y0 + y))[0]  # fmt: skip


@pytest.fixture(scope="module")
def make_key(world: str) -> Callable[..., str]:
    """An API key of a new user with `role` and scope (department, grids)."""

    def make(role: Role, department: str | None = None, grids: tuple[str, ...] = ()) -> str:
        name = f"d9-{role.label.replace('_', '')}-{secrets.token_hex(3)}"
        with psycopg2.connect(world) as conn:
            store.add_user(conn, name, role, "correct horse battery")
            with conn.cursor() as cur:
                set_scope(cur, name, department, grids)
            _, key, _ = store.issue_key(conn, name, "test")
        conn.close()
        return key

    return make


@pytest.fixture(scope="module")
def client(world: str) -> Iterator[TestClient]:
    with TestClient(create_app(get_settings()), raise_server_exceptions=False) as c:
        yield c


def auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}
