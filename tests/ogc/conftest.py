"""OGC API test fixtures: the app on the demo database, SQL helpers, a next-link walker."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

import psycopg2
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.settings import Settings, get_settings


@pytest.fixture(scope="session")
def ogc_settings(demo_db: str) -> Settings:
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.database.dsn == demo_db
    return settings


@pytest.fixture(scope="session")
def client(ogc_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(ogc_settings)) as c:
        yield c


@pytest.fixture(scope="session")
def sql(demo_db: str) -> Callable[..., list[tuple[Any, ...]]]:
    """Run one query on the demo database and return its rows (the test's own truth)."""

    def run(query: str, params: tuple[Any, ...] | dict[str, Any] = ()) -> list[tuple[Any, ...]]:
        with psycopg2.connect(demo_db) as conn, conn.cursor() as cur:
            cur.execute(query, params)
            rows = cur.fetchall()
        conn.close()
        return rows

    return run


def local(href: str) -> str:
    """A link of the API as a path the TestClient can request."""
    parts = urlsplit(href)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def walk(client: TestClient, url: str, max_pages: int = 1000) -> list[dict[str, Any]]:
    """Every feature reachable from `url` by following rel=next links."""
    features: list[dict[str, Any]] = []
    for _ in range(max_pages):
        r = client.get(url)
        assert r.status_code == 200, r.text
        body = r.json()
        features += body["features"]
        nxt = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not nxt:
            return features
        url = local(nxt[0])
    raise AssertionError(f"more than {max_pages} pages from {url}")
