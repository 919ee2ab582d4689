"""`server.max_body_bytes`: a declared body over it is a 413 before one byte is read, a
chunked one is a 413 as it crosses it; login keeps its own smaller limit the same way."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gis_server.app import create_app
from gis_server.auth import routes as auth_routes
from gis_server.settings import Settings
from tests.hostile.conftest import call_asgi
from tests.hostile.test_text import bad

LIMIT = 4096
JSON = {"content-type": "application/json"}


def chunks(count: int, size: int = 1000) -> Iterator[bytes]:
    """A chunked body of `count` chunks (the whole of it is far over the limits here)."""
    return (b" " * size for _ in range(count))


@pytest.fixture()
def small_app(app_settings: Settings):
    """The real app with max_body_bytes = 4 KiB."""
    server = app_settings.server.model_copy(update={"max_body_bytes": LIMIT})
    return create_app(app_settings.model_copy(update={"server": server}))


def test_default_limit_is_16_mib(app_settings):
    assert app_settings.server.max_body_bytes == 16 * 1024 * 1024
    assert Settings().server.max_body_bytes == 16 * 1024 * 1024


@pytest.mark.parametrize(
    "path",
    ["/api/auth/login", "/ogc/collections/grids/items", "/ogc/processes/grid-merge/execution"],
)
def test_declared_length_over_the_limit_is_413_unread(app_settings, path):
    """300 MB announced: answered at once, `receive` never called (call_asgi asserts it)."""
    sent = call_asgi(
        create_app(app_settings), "POST", path, {**JSON, "content-length": str(300 * 2**20)}, None
    )
    assert sent.status == 413
    assert sent.headers["connection"] == "close"
    assert b'"code":"PayloadTooLarge"' in sent.body
    assert sent.received == 0


def test_chunked_body_is_413_when_it_crosses_the_limit(small_app):
    sent = call_asgi(small_app, "POST", "/api/auth/login", JSON, chunks(1000))
    assert sent.status == 413 and b"PayloadTooLarge" in sent.body
    assert LIMIT < sent.received <= LIMIT + 1000  # stopped at the chunk that crossed it


def test_login_reads_no_more_than_its_own_limit(app_settings):
    """Anonymous login stops at 16 KiB, far below the server's limit."""
    sent = call_asgi(create_app(app_settings), "POST", "/api/auth/login", JSON, chunks(1000))
    assert sent.status == 413
    assert sent.received <= auth_routes.MAX_BODY + 1000


def test_413_over_http_with_the_json_error_body(small_app):
    from starlette.testclient import TestClient

    with TestClient(small_app, raise_server_exceptions=False) as c:
        r = c.post("/ogc/processes/grid-merge/execution", content=b"x" * (LIMIT + 1), headers=JSON)
        body = bad(r, status=413)
        assert body["code"] == "PayloadTooLarge" and body["limit"] == LIMIT
        ok = c.post("/api/auth/login", json={"username": "nobody", "password": "x" * 3000})
        assert ok.status_code == 401  # under the limit: read and judged as usual
