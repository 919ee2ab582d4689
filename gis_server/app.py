"""The onemap ASGI app: /healthz, the OGC API at /ogc, the console at / and /console.

`create_app` is a uvicorn factory (`uvicorn --factory gis_server.app:create_app`).
The lifespan opens the database pools (psycopg 3: the sync request paths' pool and
the hot read paths' async pools, all on `app.state.db`) and closes them on shutdown
(after tipg's main.py); a database that is down at start-up is not fatal.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware

from gis_server import database, replicas
from gis_server.api_grids import grid_api_routes
from gis_server.auth import AuthMiddleware, auth_routes
from gis_server.auth.key_cache import KeyCache
from gis_server.console import console_routes
from gis_server.dispatch import dispatch_routes, sweeper
from gis_server.duty_api import duty_routes
from gis_server.errors import OnemapError, add_exception_handlers
from gis_server.health import health_route
from gis_server.limits import RequestLimits
from gis_server.live.feed_api import feed_api_routes
from gis_server.live.geofence_api import geofence_routes
from gis_server.live.replay_api import replay_routes
from gis_server.live.stream import LiveHub, live_routes
from gis_server.mobile import mobile_routes
from gis_server.ogc.adb import AsyncDB
from gis_server.ogc.language import LanguageNegotiation
from gis_server.ogc.service import OgcService
from gis_server.ogc.tiles.fast_lane import TileFastLane
from gis_server.openapi import openapi_routes
from gis_server.settings import Settings, get_settings

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Databases:
    """The app's pools (`app.state.db`), opened and closed by the lifespan."""

    sync: database.SyncPool  # writes, auth, console, grid API, the provider (`database.pooled`)
    items: AsyncDB  # items, features and layer versions
    tiles: AsyncDB  # tiles: their own pool, 5 s statement timeout


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    ogc = OgcService(settings)
    db_settings = settings.database
    replica_set = replicas.ReplicaSet(
        db_settings.dsn, db_settings.replicas, db_settings.replica_max_lag_s
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await ogc.open_pools()  # the hot read paths' async pools, on this loop
        app.state.live = LiveHub(settings.database.dsn)
        app.state.live.start()  # the process's one LISTEN onemap_live (reconnects itself)
        app.state.key_cache.start(settings.database.dsn)  # LISTEN onemap_auth: drop on change
        app.state.db = Databases(
            sync=database.open_pool(settings.database.dsn, settings.database.pool_size),
            items=ogc.fast.db,
            tiles=ogc.tile_db,
        )
        try:
            await run_in_threadpool(ogc.api)
        except (psycopg.OperationalError, OnemapError) as exc:
            LOGGER.error("database not ready at start-up (will retry per request): %s", exc)
        overdue_sweeper = sweeper.start(settings)  # marks late events as time passes
        replicas.register(replica_set)
        replica_set.start()  # polls the replicas once a second (no thread without replicas)
        try:
            yield
        finally:
            await run_in_threadpool(replica_set.stop)
            replicas.unregister(replica_set)
            await app.state.live.stop()
            await app.state.key_cache.stop()
            await sweeper.stop(overdue_sweeper)
            await ogc.close_pools()
            database.close_pool()

    app = Starlette(
        routes=[
            health_route(settings),
            *auth_routes(settings),
            *grid_api_routes(settings),
            *feed_api_routes(),
            *live_routes(),
            *geofence_routes(),
            *replay_routes(),
            *openapi_routes(),  # /api/openapi.json, generated from this route table
            *dispatch_routes(),
            *duty_routes(),
            *ogc.mount(),
            *console_routes(settings),
            *mobile_routes(settings),
        ],
        middleware=[
            # outermost: bodies over server.max_body_bytes and NUL in paths/queries stop here
            Middleware(
                RequestLimits,
                max_body_bytes=settings.server.max_body_bytes,
                body_timeout_s=settings.server.body_timeout_s,
                min_body_rate=settings.server.min_body_rate,
            ),
            *_replica_routing(replica_set, ogc),
            Middleware(LanguageNegotiation),  # any Accept-Language/lang gets an offered one
            Middleware(AuthMiddleware, settings=settings),
            Middleware(TileFastLane, tiles=ogc.tiles),  # tiles skip the router (see its docstring)
        ],
        lifespan=lifespan,
    )
    app.state.settings = settings  # what request paths read (auth's database, …)
    app.state.key_cache = KeyCache(settings.server.api_key_cache_s)
    app.state.ogc = ogc
    app.state.replicas = replica_set
    add_exception_handlers(app)
    return app


def _replica_routing(replica_set: replicas.ReplicaSet, ogc: OgcService) -> list[Middleware]:
    """GETs read a fresh replica, writes hand back their LSN (none without replicas)."""
    if not replica_set.replicas:
        return []

    def lsn_reader():  # after the handler's commit, on the primary
        return replicas.primary_lsn(lambda: ogc.fast.db.connection(primary=True))

    return [Middleware(replicas.ReplicaRouting, replicas=replica_set, lsn_reader=lsn_reader)]
