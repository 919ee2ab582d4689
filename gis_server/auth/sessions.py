"""Console sessions: a random token in an HttpOnly cookie, its SHA-256 in PostGIS.

Each session carries its own CSRF token; cookie-authenticated requests that
change something must echo it in ``X-CSRF-Token`` (checked in `authenticate`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

from psycopg import Connection
from starlette.responses import Response

from gis_server.auth.principal import Principal
from gis_server.auth.roles import Role
from gis_server.settings import Settings

COOKIE = "onemap_session"
CSRF_HEADER = "X-CSRF-Token"
# One command-centre shift; after that the console asks for the password again.
SESSION_TTL = dt.timedelta(hours=12)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_session(
    conn: Connection, user_id: int, client_ip: str | None, user_agent: str | None
) -> tuple[str, str, dt.datetime]:
    """A new session: (cookie token, CSRF token, expiry). Expired sessions are swept."""
    token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with conn.cursor() as cur:
        cur.execute("DELETE FROM sessions WHERE expires_at < now()")
        cur.execute(
            "INSERT INTO sessions (token_hash, user_id, csrf_token, expires_at, client_ip, "
            "user_agent) VALUES (%s, %s, %s, now() + %s, %s, %s) RETURNING expires_at",
            (_digest(token), user_id, csrf, SESSION_TTL, client_ip, (user_agent or "")[:300]),
        )
        expires_at = cur.fetchone()[0]
    return token, csrf, expires_at


def principal_for_session(conn: Connection, token: str) -> Principal | None:
    """The principal of a live session of an enabled user, else None."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT u.id, u.username, u.display_name, u.role, s.csrf_token, u.district_code "
            "FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE s.token_hash = %s AND s.expires_at > now() AND u.disabled_at IS NULL",
            (_digest(token),),
        )
        row = cur.fetchone()
    if row is None:
        return None
    return Principal(
        row[0], row[1], Role.parse(row[3]), "session", row[2], csrf_token=row[4],
        district_code=row[5],
    )  # fmt: skip


def delete_session(conn: Connection, token: str) -> None:
    with conn.cursor() as cur:
        cur.execute("DELETE FROM sessions WHERE token_hash = %s", (_digest(token),))


def set_cookie(response: Response, settings: Settings, token: str) -> None:
    """HttpOnly (no script reads it), SameSite=Strict, Secure behind https."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(SESSION_TTL.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.server.public_url.startswith("https://"),
    )


def clear_cookie(response: Response, settings: Settings) -> None:
    response.delete_cookie(
        COOKIE,
        path="/",
        httponly=True,
        samesite="strict",
        secure=settings.server.public_url.startswith("https://"),
    )
