"""Users and API keys in PostGIS. Functions take a connection and never commit:
the caller owns the transaction (so an audit row can share it).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

import psycopg.errors
from psycopg import Connection

from gis_server.auth.passwords import hash_password
from gis_server.auth.principal import Principal
from gis_server.auth.roles import Role

_USERNAME = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")
MIN_PASSWORD = 10
KEY_PREFIX = "om"


class UserExists(ValueError):
    pass


class UnknownUser(LookupError):
    pass


@dataclass(frozen=True)
class LoginUser:
    id: int
    username: str
    display_name: str | None
    role: Role
    password_hash: str
    disabled: bool


def normalize_username(name: str) -> str:
    """Usernames are case-insensitive: stored and compared in lower case."""
    norm = name.strip().lower()
    if not _USERNAME.match(norm):
        raise ValueError(
            "用户名只能含字母、数字和 . _ @ -，2–64 个字符 — "
            "username: 2–64 letters, digits or . _ @ -"
        )
    return norm


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ValueError(
            f"密码至少 {MIN_PASSWORD} 个字符 — password must have at least {MIN_PASSWORD} characters"
        )


def add_user(
    conn: Connection, username: str, role: Role, password: str, display_name: str | None = None
) -> int:
    """Create a user with a hashed password; UserExists if the name is taken."""
    username = normalize_username(username)
    check_password_policy(password)
    try:
        with conn.cursor() as cur:
            cur.execute("SAVEPOINT add_user")
            cur.execute(
                "INSERT INTO users (username, display_name, role, password_hash) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (username, display_name, role.label, hash_password(password)),
            )
            user_id = cur.fetchone()[0]
            cur.execute("RELEASE SAVEPOINT add_user")
            return user_id
    except psycopg.errors.UniqueViolation:
        with conn.cursor() as cur:
            cur.execute("ROLLBACK TO SAVEPOINT add_user")
        raise UserExists(f"用户已存在 — user {username!r} already exists") from None


def list_users(conn: Connection) -> list[dict[str, object]]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT username, display_name, role, district_code, created_at, disabled_at, "
            "last_login_at FROM users ORDER BY username"
        )
        cols = [d.name for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def disable_user(conn: Connection, username: str) -> None:
    """Disable a user and end their sessions at once (keys stop working too)."""
    username = normalize_username(username)
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE users SET disabled_at = coalesce(disabled_at, now()) "
            "WHERE username = %s RETURNING id",
            (username,),
        )
        row = cur.fetchone()
        if row is None:
            raise UnknownUser(f"没有该用户 — no user {username!r}")
        cur.execute("DELETE FROM sessions WHERE user_id = %s", (row[0],))


def login_user(conn: Connection, username: str) -> LoginUser | None:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT id, username, display_name, role, password_hash, disabled_at IS NOT NULL "
            "FROM users WHERE username = %s",
            (username,),
        )
        row = cur.fetchone()
    if row is None:
        return None
    return LoginUser(row[0], row[1], row[2], Role.parse(row[3]), row[4], row[5])


def record_login(conn: Connection, user_id: int, new_hash: str | None = None) -> None:
    """Note the login time; store `new_hash` when the hash parameters were upgraded."""
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE users SET last_login_at = now(), "
            "password_hash = coalesce(%s, password_hash) WHERE id = %s",
            (new_hash, user_id),
        )


# --- API keys: om_<12 hex key id>_<secret>; only SHA-256 of the whole key is kept.


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _split_key(key: str) -> str | None:
    parts = key.strip().split("_", 2)
    if len(parts) != 3 or parts[0] != KEY_PREFIX or not re.fullmatch(r"[0-9a-f]{12}", parts[1]):
        return None
    return parts[1]


class KeyAboveUser(ValueError):
    """A key may carry a lower role than its user's, never a higher one."""


def issue_key(
    conn: Connection,
    username: str,
    name: str,
    expires_days: int | None = None,
    *,
    role: Role | None = None,
    collections: list[str] | None = None,
) -> tuple[str, str, dt.datetime | None]:
    """A new key for `username`: (key_id, the key itself — shown once, expires_at).

    `role`: the key acts with this role (at most the user's: KeyAboveUser otherwise);
    `collections`: the only collections it may write, or read where reading is
    restricted (None: every one).
    """
    username = normalize_username(username)
    user = login_user(conn, username)
    if user is None or user.disabled:
        raise UnknownUser(f"没有该用户或已停用 — no active user {username!r}")
    if role is not None and role > user.role:
        raise KeyAboveUser(
            f"密钥角色不能高于用户 — a key's role ({role.label}) cannot be above its user's "
            f"({user.role.label})"
        )
    key_id = secrets.token_hex(6)
    key = f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO api_keys (key_id, user_id, name, secret_hash, expires_at, role, "
            "collections) VALUES (%s, %s, %s, %s, now() + make_interval(days => %s), %s, %s) "
            "RETURNING expires_at",
            (
                key_id,
                user.id,
                name,
                _digest(key),
                expires_days,
                role.label if role else None,
                collections,
            ),
        )
        row = cur.fetchone()
    return key_id, key, row[0]


def revoke_key(conn: Connection, key_id: str) -> None:
    with conn.cursor() as cur:
        cur.execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) "
            "WHERE key_id = %s RETURNING id",
            (key_id.strip().lower(),),
        )
        if cur.fetchone() is None:
            raise LookupError(f"没有该密钥 — no API key {key_id!r}")


def list_keys(conn: Connection, username: str | None = None) -> list[dict[str, object]]:
    with conn.cursor() as cur:
        cur.execute(
            "SELECT k.key_id, u.username, k.name, k.created_at, k.expires_at, k.revoked_at, "
            "k.last_used_at, k.role, k.collections FROM api_keys k JOIN users u ON u.id = k.user_id "
            "WHERE %(u)s::text IS NULL OR u.username = %(u)s ORDER BY u.username, k.created_at",
            {"u": normalize_username(username) if username else None},
        )
        cols = [d.name for d in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def principal_for_key(conn: Connection, key: str) -> Principal | None:
    """The principal of a live key (not revoked, not expired, user enabled), else None."""
    key_id = _split_key(key)
    if key_id is None:
        return None
    with conn.cursor() as cur:
        cur.execute(
            "SELECT k.secret_hash, u.id, u.username, u.display_name, u.role, k.role, "
            "k.collections, u.district_code "
            "FROM api_keys k JOIN users u ON u.id = k.user_id "
            "WHERE k.key_id = %s AND k.revoked_at IS NULL AND u.disabled_at IS NULL "
            "AND (k.expires_at IS NULL OR k.expires_at > now())",
            (key_id,),
        )
        row = cur.fetchone()
        if row is None or not hmac.compare_digest(row[0], _digest(key)):
            return None
        cur.execute(
            "UPDATE api_keys SET last_used_at = now() WHERE key_id = %s "
            "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')",
            (key_id,),
        )
    # a scoped key: the lower of its role and its user's (a user demoted since keeps it low)
    role = min(Role.parse(row[4]), Role.parse(row[5])) if row[5] else Role.parse(row[4])
    scope = frozenset(row[6]) if row[6] is not None else None
    return Principal(
        row[1], row[2], role, "api_key", row[3], key_id=key_id, collections=scope,
        district_code=row[7],
    )  # fmt: skip
