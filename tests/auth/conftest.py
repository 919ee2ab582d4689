"""A small Starlette app mounting the auth routes plus dummy protected writes.

The real app is built elsewhere; this one exercises the contracts the app
and the OGC Part 4 routes rely on: `auth_routes`, `AuthMiddleware`,
`require`/`require_write` and `audit.record`.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator

import psycopg2
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from gis_server.auth import (
    AuthMiddleware,
    Role,
    audit,
    auth_routes,
    client_ip,
    require_write,
    store,
)
from gis_server.database import pooled
from gis_server.errors import add_exception_handlers
from gis_server.settings import Settings, get_settings

PASSWORD = "correct horse battery"


def _write(request: Request, layer: str, principal) -> JSONResponse:  # noqa: ANN001
    """A fake feature write: audit row in the same transaction, optionally rolled back."""
    fid = request.query_params.get("id", "F1")
    db = get_settings().database
    with pooled(db.dsn, db.pool_size) as conn:
        audit.record(
            conn,
            principal,
            "update",
            layer,
            fid,
            {"name": "old"},
            {"name": "new"},
            client_ip=client_ip(request),
        )
        if request.query_params.get("fail"):
            raise RuntimeError("write failed after the audit row")
        conn.commit()
    return JSONResponse({"by": principal.username}, status_code=201)


async def guarded_write(request: Request) -> JSONResponse:
    """Outside /ogc and /api: only `require_write` protects it."""
    layer = request.path_params["layer"]
    principal = await require_write(request, layer)
    return _write(request, layer, principal)


async def unguarded_items(request: Request) -> PlainTextResponse:
    """Calls no `require`: only the middleware protects it (the safety net)."""
    return PlainTextResponse("written", status_code=201)


async def read(request: Request) -> JSONResponse:
    return JSONResponse({"collections": []})


def build_app(settings: Settings) -> Starlette:
    app = Starlette(
        routes=[
            *auth_routes(settings),
            Route("/write/{layer}", guarded_write, methods=["POST"]),
            Route("/ogc/collections/{layer}/items", unguarded_items, methods=["POST"]),
            Route("/ogc/collections", read),
            Route("/healthz", read),
        ],
        middleware=[Middleware(AuthMiddleware, settings=settings)],
    )
    app.state.settings = settings
    add_exception_handlers(app)
    return app


def with_settings(
    settings: Settings, *, public_reads: bool = True, public_url: str = ""
) -> Settings:
    update = {"ogc": settings.ogc.model_copy(update={"public_reads": public_reads})}
    if public_url:
        update["server"] = settings.server.model_copy(update={"public_url": public_url})
    return settings.model_copy(update=update)


@pytest.fixture()
def app_settings(db_dsn: str) -> Settings:
    return with_settings(get_settings())


@pytest.fixture()
def client(app_settings: Settings) -> Iterator[TestClient]:
    with TestClient(build_app(app_settings), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture()
def make_user(db_dsn: str) -> Callable[..., str]:
    """Create a committed user with a unique name; returns the username."""

    def make(role: Role = Role.VIEWER, password: str = PASSWORD) -> str:
        name = f"{role.label}-{secrets.token_hex(4)}"
        with psycopg2.connect(db_dsn) as conn:
            store.add_user(conn, name, role, password)
        conn.close()
        return name

    return make


@pytest.fixture()
def make_key(db_dsn: str, make_user: Callable[..., str]) -> Callable[..., str]:
    """A live API key of a new user with `role`."""

    def make(role: Role = Role.VIEWER) -> str:
        with psycopg2.connect(db_dsn) as conn:
            _, key, _ = store.issue_key(conn, make_user(role), "test")
        conn.close()
        return key

    return make


def login(client: TestClient, username: str, password: str = PASSWORD):  # noqa: ANN201
    return client.post("/api/auth/login", json={"username": username, "password": password})
