"""A tiny town of four 100 m squares (EPSG:4549 metres), rebuilt for every test,
plus users with each role, on the session's test database and the real app.

Town T9 (code 990001) spans x 500000..500200, y 3540000..3540200 in CGCS2000 GK
CM 120E; its comprehensive grids are A (SW), B (SE), C (NW), D (NE), so areas,
overlaps and gaps can be computed by hand. Version 1 of each is valid from 2020.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import psycopg2
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.auth import Role, store
from gis_server.settings import Settings, get_settings

TOWN = "990001"
X0, Y0 = 500000.0, 3540000.0
SQUARES = {"T9-A": (0, 0), "T9-B": (100, 0), "T9-C": (0, 100), "T9-D": (100, 100)}
T_V1 = "2020-01-01T00:00:00+08:00"


def envelope_sql(x0: float, y0: float, x1: float, y1: float) -> str:
    return (
        f"ST_Multi(ST_Transform(ST_MakeEnvelope({X0 + x0}, {Y0 + y0}, {X0 + x1}, {Y0 + y1}, 4549),"
        " 4326))"
    )


@pytest.fixture()
def sql(db_dsn: str) -> Callable[..., list[tuple[Any, ...]]]:
    """Run one statement (committed) and return its rows: the tests' own truth."""

    def run(query: str, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg2.connect(db_dsn) as conn, conn.cursor() as cur:
            cur.execute(query, params)
            rows = cur.fetchall() if cur.description else []
        conn.close()
        return rows

    return run


@pytest.fixture()
def square(sql: Callable[..., list]) -> Callable[..., dict[str, Any]]:
    """GeoJSON (CRS84) of a rectangle given in town metres."""

    def make(x0: float, y0: float, x1: float, y1: float, multi: bool = False) -> dict[str, Any]:
        g = envelope_sql(x0, y0, x1, y1)
        return json.loads(
            sql(f"SELECT ST_AsGeoJSON({g if multi else f'ST_GeometryN({g}, 1)'}, 12)")[0][0]
        )

    return make


@pytest.fixture()
def line(sql: Callable[..., list]) -> Callable[..., dict[str, Any]]:
    def make(*points: tuple[float, float]) -> dict[str, Any]:
        wkt = ", ".join(f"{X0 + x} {Y0 + y}" for x, y in points)
        return json.loads(
            sql(
                f"SELECT ST_AsGeoJSON(ST_Transform('SRID=4549;LINESTRING({wkt})'::geometry, 4326), 12)"
            )[0][0]
        )

    return make


def _clear(sql: Callable[..., list]) -> None:
    sql("DELETE FROM events WHERE code LIKE 'T9-%' RETURNING 1")
    sql("DELETE FROM cameras WHERE code LIKE 'T9-%' RETURNING 1")
    sql("DELETE FROM grids WHERE code LIKE 'T9-%' RETURNING 1")
    sql("DELETE FROM towns WHERE code = %s RETURNING 1", (TOWN,))


@pytest.fixture()
def town(sql: Callable[..., list]) -> Iterator[dict[str, str]]:
    """Reset T9: town, four grids (v1 from 2020), cameras and events inside; removed after."""
    _clear(sql)
    for code, (x, y) in SQUARES.items():
        sql(
            "INSERT INTO grids (code, name, town_code, grid_type, population, version, valid_from, "
            f"geom) VALUES (%s, %s, %s, 'comprehensive', 100, 1, %s, {envelope_sql(x, y, x + 100, y + 100)}) "
            "RETURNING 1",
            (code, f"网格{code[-1]}", TOWN, T_V1),
        )
    sql(
        "INSERT INTO towns (code, name, kind, geom) SELECT %s, '测试镇', 'town', "
        "ST_Multi(ST_Union(geom)) FROM grids WHERE code LIKE 'T9-%%' RETURNING 1",
        (TOWN,),
    )
    # cameras at (95, 50) and (50, 50) in A, (150, 50) in B; events: open at (95, 20), closed at (96, 20)
    for code, (x, y), grid in (
        ("T9-CAM1", (95, 50), "T9-A"),
        ("T9-CAM2", (50, 50), "T9-A"),
        ("T9-CAM3", (150, 50), "T9-B"),
    ):
        sql(
            "INSERT INTO cameras (code, name, kind, grid_code, town_code, geom) VALUES "
            "(%s, %s, 'xueliang', %s, %s, ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4549), 4326)) RETURNING 1",
            (code, code, grid, TOWN, X0 + x, Y0 + y),
        )
    for code, (x, y), status in (("T9-EV1", (95, 20), "accepted"), ("T9-EV2", (96, 20), "closed")):
        sql(
            "INSERT INTO events (code, title, source, category, status, grid_code, town_code, created_at, "
            "closed_at, geom) VALUES (%s, 't', 'grid_worker', 'c', %s, 'T9-A', %s, '2024-01-01T00:00+08', "
            "CASE WHEN %s = 'closed' THEN timestamptz '2024-01-02T00:00+08' END, "
            "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4549), 4326)) RETURNING 1",
            (code, status, TOWN, status, X0 + x, Y0 + y),
        )
    yield {"town": TOWN}
    _clear(sql)  # other test packages share the database (and count its features)


@pytest.fixture()
def app_settings(db_dsn: str) -> Settings:
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.database.dsn == db_dsn
    return settings


@pytest.fixture()
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(app_settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def key(db_dsn: str) -> Callable[[Role], str]:
    """A live API key of a new user with the role."""

    def make(role: Role) -> str:
        name = f"ed-{role.label}-{secrets.token_hex(3)}"
        with psycopg2.connect(db_dsn) as conn:
            store.add_user(conn, name.replace("_", "-"), role, "correct horse battery")
            _, k, _ = store.issue_key(conn, name.replace("_", "-"), "test")
        conn.close()
        return k

    return make


@pytest.fixture()
def editor(key: Callable[[Role], str]) -> dict[str, str]:
    return {"X-API-Key": key(Role.GIS_EDITOR)}


def etag(client: TestClient, code: str) -> str:
    r = client.get(f"/ogc/collections/grids/items/{code}?f=json")
    assert r.status_code == 200, r.text
    return r.headers["etag"]
