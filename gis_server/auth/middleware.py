"""Path-level access policy for /ogc and /api, applied before any route runs.

Route handlers still call `require` for their exact role; the middleware is
the safety net so that no write under /ogc (e.g. pygeoapi's own Part 4
transaction routes) and no private read is reachable without credentials.
"""

from __future__ import annotations

import re

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Receive, Scope, Send

from gis_server.auth.dependencies import SAFE_METHODS, require
from gis_server.auth.roles import Role, write_role
from gis_server.errors import OnemapError, onemap_error_response
from gis_server.settings import Settings

OPEN_PATHS = frozenset({"/healthz", "/api/auth/login", "/api/auth/logout"})
_ITEMS = re.compile(r"^/ogc/collections/([^/]+)/items(?:/|$)")


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def required_role(method: str, path: str, public_reads: bool) -> Role | None:
    """The least role a request needs before reaching its route (None: anyone)."""
    if path in OPEN_PATHS or method == "OPTIONS":
        return None
    if not (_under(path, "/ogc") or _under(path, "/api")):
        return None
    if method in SAFE_METHODS:
        return None if public_reads else Role.VIEWER
    if match := _ITEMS.match(path):
        return write_role(match.group(1))
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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            role = required_role(scope["method"], scope["path"], self.public_reads)
            if role is not None:
                try:
                    await require(HTTPConnection(scope), role)
                except OnemapError as exc:
                    await onemap_error_response(exc)(scope, receive, send)
                    return
        await self.app(scope, receive, send)
