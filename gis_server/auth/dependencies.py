"""`authenticate` and `require`: what route handlers call to know who is asking.

Credentials, strongest first: ``Authorization: Bearer <key>``, ``X-API-Key``,
then the ``onemap_session`` cookie. A cookie-authenticated request that
changes something must carry the session's CSRF token (browsers attach
cookies by themselves; they do not attach custom headers cross-site).
The result is cached on the request scope so middleware and route share it.
The database comes from the app's settings (``app.state.settings``, set by
`create_app`), never from a global. API keys found live are kept a few seconds
in the app's `KeyCache` (``app.state.key_cache``; cleared on any auth change).
"""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection

from gis_server.auth import sessions, store
from gis_server.auth.key_cache import KeyCache
from gis_server.auth.principal import Principal
from gis_server.auth.roles import Role, write_role
from gis_server.database import pooled
from gis_server.errors import CsrfFailed, Forbidden, NotAuthenticated
from gis_server.settings import DatabaseSettings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PRINCIPAL_KEY = "onemap.principal"


def credentials(conn: HTTPConnection) -> tuple[str, str] | None:
    """("api_key" | "session", secret) presented by the request, if any."""
    scheme, _, value = conn.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return "api_key", value.strip()
    if key := conn.headers.get("x-api-key", "").strip():
        return "api_key", key
    if token := conn.cookies.get(sessions.COOKIE):
        return "session", token
    return None


def _lookup(db: DatabaseSettings, kind: str, secret: str) -> Principal | None:
    with pooled(db.dsn, db.pool_size) as conn:
        if kind == "api_key":
            principal = store.principal_for_key(conn, secret)
            conn.commit()  # last_used_at
            return principal
        return sessions.principal_for_session(conn, secret)


async def _principal(
    conn: HTTPConnection, db: DatabaseSettings, kind: str, secret: str
) -> Principal | None:
    cache: KeyCache | None = getattr(conn.app.state, "key_cache", None)
    if kind != "api_key" or cache is None:
        return await run_in_threadpool(_lookup, db, kind, secret)
    if (hit := cache.get(secret)) is not None:
        return hit
    generation = cache.generation()
    principal = await run_in_threadpool(_lookup, db, kind, secret)
    if principal is not None:
        cache.put(secret, principal, generation)
    return principal


def _check_csrf(conn: HTTPConnection, principal: Principal) -> None:
    method = conn.scope.get("method", "GET")
    if principal.method != "session" or method in SAFE_METHODS:
        return
    sent = conn.headers.get(sessions.CSRF_HEADER, "")
    if not (principal.csrf_token and sent and hmac.compare_digest(sent, principal.csrf_token)):
        raise CsrfFailed(f"缺少或错误的 CSRF 令牌 — header {sessions.CSRF_HEADER} missing or wrong")


async def authenticate(conn: HTTPConnection) -> Principal | None:
    """The principal behind the request, or None (no or dead credentials).

    Raises CsrfFailed (403) for a cookie-authenticated unsafe request without
    the matching ``X-CSRF-Token``. Disabled users, revoked or expired keys and
    expired sessions give None.
    """
    if PRINCIPAL_KEY not in conn.scope:
        found = credentials(conn)
        db = conn.app.state.settings.database
        conn.scope[PRINCIPAL_KEY] = await _principal(conn, db, *found) if found else None
    principal: Principal | None = conn.scope[PRINCIPAL_KEY]
    if principal is not None:
        _check_csrf(conn, principal)
    return principal


async def require(conn: HTTPConnection, role: Role | str) -> Principal:
    """The principal if it has at least `role`; NotAuthenticated (401) or Forbidden (403)."""
    role = Role.parse(role)
    principal = await authenticate(conn)
    if principal is None:
        if credentials(conn):
            raise NotAuthenticated(
                "凭据无效、已过期或已吊销 — credentials invalid, expired or revoked"
            )
        raise NotAuthenticated()
    if not principal.can(role):
        raise Forbidden(
            f"需要 {role.label} 或更高角色 — role {role.label} or higher required "
            f"(you are {principal.role.label})"
        )
    return principal


def check_scope(principal: Principal, collection_id: str) -> None:
    """Forbidden (403) when a scoped API key does not list the collection."""
    if not principal.may_use(collection_id):
        raise Forbidden(
            f"此密钥不含集合 {collection_id} — this API key is scoped to "
            f"{', '.join(sorted(principal.collections or ()))}, not {collection_id!r}"
        )


async def require_collection(
    conn: HTTPConnection, collection_id: str, role: Role | str
) -> Principal:
    """`require(role)`, and the key's scope (if it has one) names `collection_id`."""
    principal = await require(conn, role)
    check_scope(principal, collection_id)
    return principal


async def require_write(conn: HTTPConnection, layer: str) -> Principal:
    """`require` with the role the permission map sets for writing `layer`."""
    return await require(conn, write_role(layer))
