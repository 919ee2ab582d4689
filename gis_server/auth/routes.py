"""`/api/auth/login`, `/api/auth/logout`, `/api/auth/me` for the console.

Login answers JSON with the session's CSRF token and sets the session cookie;
systems use API keys instead and never call these. Failures are raised as
`gis_server.errors` classes and answered by the app's exception handler.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qs

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gis_server import json_body
from gis_server.auth import audit, ratelimit, route_docs, sessions, store
from gis_server.auth.dependencies import authenticate, require
from gis_server.auth.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from gis_server.auth.principal import Principal, client_ip
from gis_server.auth.roles import Role
from gis_server.database import pooled
from gis_server.errors import CsrfFailed, InvalidCredentials, InvalidParameter
from gis_server.routing import api_route
from gis_server.settings import DatabaseSettings, Settings

MAX_BODY = 16 * 1024
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass(frozen=True)
class _Login:
    principal: Principal
    token: str
    csrf: str
    expires_at: str


async def _form(request: Request) -> dict[str, str] | None:
    """username/password from a JSON or urlencoded body (no multipart dependency).

    Anyone may call login, so at most MAX_BODY bytes are read (413 past them), and
    text PostgreSQL cannot hold (NUL, lone surrogates) is a 400 naming the field.
    """
    body = await json_body.read_body(request, MAX_BODY)
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        data = json_body.loads(body)
        if not isinstance(data, dict):
            return None
        return {k: v for k, v in data.items() if isinstance(v, str)}
    if ctype == "application/x-www-form-urlencoded":
        try:
            fields = parse_qs(body.decode("utf-8"))
        except UnicodeDecodeError:
            return None
        return {k: json_body.check_text(k, v[0]) for k, v in fields.items()}
    return None


def _same_origin(request: Request, settings: Settings) -> bool:
    """Refuse cross-site login forms (login CSRF); clients without Origin pass."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    return origin.rstrip("/") in {own, settings.server.public_url}


def _login(
    db: DatabaseSettings,
    username: str,
    password: str,
    ip: str | None,
    agent: str | None,
    old: str | None,
) -> _Login:
    """Check throttle and password, then open a session — all in one transaction."""
    client = ip or "unknown"
    with pooled(db.dsn, db.pool_size) as conn:
        ratelimit.check(conn, username, client)
        user = store.login_user(conn, username)
        ok = verify_password(password, user.password_hash if user else DUMMY_HASH)
        if user is None or user.disabled or not ok:
            ratelimit.record_failure(conn, username, client)
            conn.commit()
            raise InvalidCredentials()
        ratelimit.clear(conn, username, client)
        new_hash = hash_password(password) if needs_rehash(user.password_hash) else None
        store.record_login(conn, user.id, new_hash)
        if old:
            sessions.delete_session(conn, old)  # no session fixation
        token, csrf, expires_at = sessions.create_session(conn, user.id, ip, agent)
        principal = Principal(user.id, user.username, user.role, "session", user.display_name)
        audit.record(conn, principal, "login", None, None, None, None, client_ip=ip)
        conn.commit()
    return _Login(principal, token, csrf, expires_at.isoformat())


def _logout(db: DatabaseSettings, token: str, principal: Principal, ip: str | None) -> None:
    with pooled(db.dsn, db.pool_size) as conn:
        sessions.delete_session(conn, token)
        audit.record(conn, principal, "logout", None, None, None, None, client_ip=ip)
        conn.commit()


def auth_routes(settings: Settings) -> list[Route]:  # DocumentedRoutes
    """The routes to mount on the app (paths are absolute)."""
    db = settings.database

    async def login(request: Request) -> Response:
        if not _same_origin(request, settings):
            raise CsrfFailed("跨站登录被拒绝 — cross-site login refused (Origin)")
        form = await _form(request)
        if form is None:
            raise InvalidParameter(
                "body",
                "请求体须为 JSON 或表单 — body must be JSON or a urlencoded form with "
                "username and password",
            )
        username, password = form.get("username", ""), form.get("password", "")
        if not username.strip() or not password:
            missing = "password" if username.strip() else "username"
            raise InvalidParameter(
                missing, "缺少用户名或密码 — parameters username and password are required"
            )
        done = await run_in_threadpool(
            _login,
            db,
            username.strip().lower()[:64],
            password,
            client_ip(request),
            request.headers.get("user-agent"),
            request.cookies.get(sessions.COOKIE),
        )
        body = {**done.principal.public(), "csrf_token": done.csrf, "expires_at": done.expires_at}
        response = JSONResponse(body, headers=_NO_STORE)
        sessions.set_cookie(response, settings, done.token)
        return response

    async def logout(request: Request) -> Response:
        principal = await authenticate(request)
        token = request.cookies.get(sessions.COOKIE)
        if token and principal is not None and principal.method == "session":
            await run_in_threadpool(_logout, db, token, principal, client_ip(request))
        response = Response(status_code=204, headers=_NO_STORE)
        sessions.clear_cookie(response, settings)
        return response

    async def me(request: Request) -> Response:
        principal = await require(request, Role.VIEWER)
        return JSONResponse(principal.public(), headers=_NO_STORE)

    return [
        api_route("/api/auth/login", login, methods=["POST"], doc=route_docs.LOGIN),
        api_route("/api/auth/logout", logout, methods=["POST"], doc=route_docs.LOGOUT),
        api_route("/api/auth/me", me, doc=route_docs.ME),
    ]
