"""Path-level access policy for /ogc and /api, applied before any route runs.

Route handlers still call `require` for their exact role; the middleware is
the safety net so that no write under /ogc (e.g. pygeoapi's own Part 4
transaction routes) and no private read is reachable without credentials.
It also applies each collection's read role (`collection_policy.py`) to every
path under `/ogc/collections/{id}` — collection, items, feature, queryables,
schema, tiles (also the tile fast lane, which runs inside it).
"""

from __future__ import annotations

import re

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from gis_server.auth.collection_policy import CollectionPolicy
from gis_server.auth.dependencies import SAFE_METHODS, check_scope, require
from gis_server.auth.roles import Role
from gis_server.errors import OnemapError, onemap_error_response
from gis_server.settings import Settings

OPEN_PATHS = frozenset({"/healthz", "/api/auth/login", "/api/auth/logout"})
_ITEMS = re.compile(r"^/ogc/collections/([^/]+)/items(?:/|$)")
_COLLECTION = re.compile(r"^/ogc/collections/([^/]+)(?:/|$)")
# the console's copies of a layer (its layer bodies, the events list) follow the same policy
_CONSOLE = re.compile(r"^/api/console/(?:layers/([^/]+)$|(events)(?:/|$))")
_OPEN = CollectionPolicy()


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def restricted_collection(method: str, path: str, policy: CollectionPolicy) -> str | None:
    """The collection a read of `path` touches when that collection's reading is restricted."""
    if method not in SAFE_METHODS or method == "OPTIONS":
        return None
    if match := _COLLECTION.match(path):
        cid = match.group(1)
    elif match := _CONSOLE.match(path):
        cid = match.group(1) or match.group(2)
    else:
        return None
    return cid if policy.read_role(cid) else None


def required_role(
    method: str, path: str, public_reads: bool, policy: CollectionPolicy = _OPEN
) -> Role | None:
    """The least role a request needs before reaching its route (None: anyone)."""
    if path in OPEN_PATHS or method == "OPTIONS":
        return None
    if not (_under(path, "/ogc") or _under(path, "/api")):
        return None
    if method in SAFE_METHODS:
        base = None if public_reads else Role.VIEWER
        if cid := restricted_collection(method, path, policy):
            return max(base or Role.VIEWER, policy.read_role(cid) or Role.VIEWER)
        return base
    if match := _ITEMS.match(path):
        return policy.write_role(match.group(1))
    if _under(path, "/ogc/processes") or _under(path, "/ogc/jobs") or _under(path, "/api"):
        return Role.VIEWER
    return Role.ADMIN


class AuthMiddleware:
    """ASGI middleware enforcing `required_role`; answers 401/403 as JSON.

    It runs outside the app's exception handlers, so it sends the error itself.
    """

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.public_reads = settings.ogc.public_reads
        self.policy = CollectionPolicy.from_settings(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            role = required_role(method, path, self.public_reads, self.policy)
            if role is not None:
                try:
                    principal = await require(HTTPConnection(scope), role)
                    if cid := restricted_collection(method, path, self.policy):
                        check_scope(principal, cid)
                except OnemapError as exc:
                    await onemap_error_response(exc)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
