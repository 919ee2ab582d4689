"""OpenAPI test fixtures: the app on the demo database and both generated documents."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.settings import Settings, get_settings


@pytest.fixture(scope="session")
def openapi_settings(demo_db: str) -> Settings:
    get_settings.cache_clear()
    settings = get_settings()
    assert settings.database.dsn == demo_db
    return settings


@pytest.fixture(scope="session")
def app_client(openapi_settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(openapi_settings)) as c:
        yield c


@pytest.fixture(scope="session")
def api_doc(app_client: TestClient) -> dict[str, Any]:
    r = app_client.get("/api/openapi.json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    return r.json()


@pytest.fixture(scope="session")
def ogc_doc(app_client: TestClient) -> dict[str, Any]:
    r = app_client.get("/ogc/openapi?f=json")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.oai.openapi+json")
    return r.json()
