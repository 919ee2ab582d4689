"""What /api/auth/login, /logout and /me take and give (their `RouteDoc`s, for OpenAPI)."""

from __future__ import annotations

from gis_server.auth.roles import ROLE_NAMES, Role
from gis_server.routing import Body, RouteDoc

PRINCIPAL = {
    "type": "object",
    "required": ["username", "role", "method"],
    "properties": {
        "username": {"type": "string"},
        "display_name": {"type": ["string", "null"]},
        "role": {"type": "string", "enum": list(ROLE_NAMES)},
        "method": {"type": "string", "enum": ["session", "api_key"]},
        "key_id": {"type": ["string", "integer"]},
        "collections": {
            "type": "array",
            "items": {"type": "string"},
            "description": "a scoped key: the only collections it writes (or reads, if restricted)",
        },
        "district_code": {
            "type": "string",
            "description": "the district (6-digit admin code) the user acts in; absent: the city",
        },
        "csrf_token": {"type": "string", "description": "send as X-CSRF-Token on every write"},
        "expires_at": {"type": "string", "format": "date-time"},
    },
}
_CREDENTIALS = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": {"type": "string"}, "password": {"type": "string"}},
}
_NO_STORE = ("Cache-Control",)  # no-store: a principal and its CSRF token are never cached
_ERR = Body("error")  # schema None: the builder puts the one error body there

LOGIN = RouteDoc(
    "登录 log in (console session cookie + CSRF token)",
    tags=("auth",),
    request=Body(
        "username and password",
        _CREDENTIALS,
        ("application/json", "application/x-www-form-urlencoded"),
    ),
    responses={
        200: Body(
            "the session's principal, its CSRF token and expiry", PRINCIPAL, headers=_NO_STORE
        ),
        401: _ERR,
        403: Body("cross-site login refused (Origin)"),
        429: _ERR,
    },
)
LOGOUT = RouteDoc(
    "退出 log out (ends the cookie session, if any)",
    tags=("auth",),
    responses={
        204: Body("logged out; the cookie is cleared", None, (), _NO_STORE),
        403: Body("a session cookie without its X-CSRF-Token"),
    },
)
ME = RouteDoc(
    "我是谁 who am I",
    role=Role.VIEWER,
    tags=("auth",),
    responses={200: Body("the caller", PRINCIPAL, headers=_NO_STORE)},
)
