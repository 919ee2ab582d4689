"""Accounts, roles, sessions, API keys and the audit trail.

Contracts for the app and the OGC write routes:

- ``await authenticate(request) -> Principal | None``
- ``await require(request, role) -> Principal`` (NotAuthenticated 401 / Forbidden 403)
- ``await require_write(request, layer) -> Principal`` (role from LAYER_WRITE_ROLES)
- ``await require_collection(request, collection, role) -> Principal`` (and a scoped
  key's collections name it)
- ``await authorise(request, role, reads=(…), writes=(…))`` (collection_policy: the
  read policy and a scoped key's collections for routes outside /ogc/collections/{id})
- ``auth_routes(settings) -> list[Route]``; ``AuthMiddleware`` (path policy, CSRF)
- ``audit.record(conn, actor, action, layer, feature_id, before, after)``

Their failures (NotAuthenticated, Forbidden, CsrfFailed, TooManyAttempts …) are
`gis_server.errors` classes, answered by the app's one exception handler.
Request paths read the app's settings from ``request.app.state.settings``.
"""

from gis_server.auth import audit
from gis_server.auth.collection_policy import authorise, policy_of
from gis_server.auth.dependencies import (
    authenticate,
    check_scope,
    require,
    require_collection,
    require_write,
)
from gis_server.auth.middleware import AuthMiddleware, required_role
from gis_server.auth.principal import Principal, client_ip
from gis_server.auth.roles import LAYER_WRITE_ROLES, Role, write_role
from gis_server.auth.routes import auth_routes

__all__ = [
    "LAYER_WRITE_ROLES",
    "AuthMiddleware",
    "Principal",
    "Role",
    "audit",
    "auth_routes",
    "authenticate",
    "authorise",
    "check_scope",
    "client_ip",
    "policy_of",
    "require",
    "require_collection",
    "require_write",
    "required_role",
    "write_role",
]
