"""`onemap users add|list|disable` and `onemap keys issue|list|revoke`.

Each change is committed together with its audit row (actor ``cli:<os user>``).
Secrets are read from stdin or a hidden prompt, never from argv (which other
local users can see in the process list).
"""

from __future__ import annotations

import datetime as dt
import getpass
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click
from psycopg import Connection as connection

from gis_server.auth import audit, store
from gis_server.auth.roles import ROLE_NAMES, Role
from gis_server.cli.options import fail, load_or_exit
from gis_server.database import connect
from layers.dispatch import scope
from layers.dispatch.errors import BadInput


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


@contextmanager
def _transaction() -> Iterator[connection]:
    """A connection whose work is committed only if the block succeeds."""
    settings = load_or_exit()
    try:
        conn = connect(settings.database.dsn)
    except Exception as exc:  # noqa: BLE001 - any connection failure is reported the same way
        fail(f"数据库不可达 — database unreachable: {str(exc).strip().splitlines()[0]}")
        raise  # unreachable: fail exits
    try:
        yield conn
        conn.commit()
    finally:
        conn.rollback()
        conn.close()


def _run(action: Callable[[connection], object]) -> object:
    """Run `action` in a transaction; domain errors become a message and exit 1."""
    try:
        with _transaction() as conn:
            return action(conn)
    except (ValueError, LookupError, BadInput) as exc:
        fail(f"错误 — error: {exc}")
        return None


def _when(value: object) -> str:
    return value.isoformat(timespec="seconds") if value is not None else "-"  # type: ignore[attr-defined]


def _key_state(row: dict[str, object]) -> str:
    expires_at = row["expires_at"]
    if row["revoked_at"]:
        return "已吊销 revoked"
    if isinstance(expires_at, dt.datetime) and expires_at <= dt.datetime.now(dt.UTC):
        return "已过期 expired"
    return "有效 active"


@click.group("users")
def users() -> None:
    """用户 — console and API accounts with roles (viewer < reporter < grid_worker < handler < dispatcher < gis_editor < admin)."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLE_NAMES), required=True, help="角色 role")
@click.option("--name", "display_name", default=None, help="姓名 display name, e.g. 张三")
@click.option(
    "--password-stdin", is_flag=True, help="从标准输入读取密码 read the password from stdin"
)
@click.option("--department", default=None, help="处置部门编码 a handler's department code")
@click.option("--grid", "grids", multiple=True, help="网格编码 a grid worker's grid (repeatable)")
@click.option(
    "--district",
    default=None,
    help="区县代码 the district (6-digit admin code) they act in; default: the whole city",
)
def users_add(
    username: str,
    role: str,
    display_name: str | None,
    password_stdin: bool,
    department: str | None,
    grids: tuple[str, ...],
    district: str | None,
) -> None:
    """新建用户 — create USERNAME with a password (prompted twice unless --password-stdin).

    Handlers act on their --department's events, grid workers on their --grid's; with
    --district, every role sees and acts on that district's events and features only.
    """
    if role == "handler" and not department:
        fail("错误 — error: handler 需要 --department — a handler needs --department")
    if role == "grid_worker" and not grids:
        fail("错误 — error: grid_worker 需要 --grid — a grid worker needs --grid")
    if district is not None and not re.fullmatch(r"\d{6}", district):
        fail(f"错误 — error: --district 应为6位区划代码 — not a 6-digit admin code: {district!r}")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(
            "密码 Password", hide_input=True, confirmation_prompt="再次输入 Repeat password"
        )

    def add(conn: connection) -> str:
        store.add_user(conn, username, Role.parse(role), password, display_name)
        name = store.normalize_username(username)
        if department or grids:
            with conn.cursor() as cur:
                scope.set_scope(cur, name, department, grids)
        if district:
            with conn.cursor() as cur:
                scope.set_district(cur, name, district)
        after = {"username": name, "role": role, "display_name": display_name}
        if department or grids:
            after.update(department=department, grids=list(grids))
        if district:
            after.update(district=district)
        audit.record(conn, _actor(), "user.add", "users", name, None, after)
        return name

    name = _run(add)
    click.echo(f"已创建用户 — created user {name} ({role})")


@users.command("list")
def users_list() -> None:
    """列出用户 — list users with their role and state."""
    rows = _run(store.list_users) or []
    click.echo(
        f"{'用户 user':<24} {'角色 role':<12} {'状态 state':<10} {'最近登录 last login':<26} 姓名 name"
    )
    for row in rows:
        state = "停用 disabled" if row["disabled_at"] else "启用 active"
        click.echo(
            f"{row['username']:<24} {row['role']:<12} {state:<10} "
            f"{_when(row['last_login_at']):<26} {row['display_name'] or ''}"
            + (f"  区县 district {row['district_code']}" if row["district_code"] else "")
        )


@users.command("district")
@click.argument("username")
@click.argument("district")
def users_district(username: str, district: str) -> None:
    """区县范围 — scope USERNAME to DISTRICT (6-digit admin code), or `city` for all of them."""
    code = None if district == "city" else district

    def scope_user(conn: connection) -> str:
        name = store.normalize_username(username)
        with conn.cursor() as cur:
            scope.set_district(cur, name, code)
        audit.record(conn, _actor(), "user.district", "users", name, None, {"district": code})
        return name

    name = _run(scope_user)
    click.echo(f"已设置区县 — {name}: {code or '全市 the whole city'}")


@users.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """停用用户 — disable USERNAME: sessions end now, API keys stop working."""

    def disable(conn: connection) -> str:
        store.disable_user(conn, username)
        name = store.normalize_username(username)
        audit.record(
            conn, _actor(), "user.disable", "users", name, {"disabled": False}, {"disabled": True}
        )
        return name

    name = _run(disable)
    click.echo(f"已停用用户 — disabled user {name}")


@click.group("keys")
def keys() -> None:
    """API 密钥 — keys for other systems (Authorization: Bearer or X-API-Key)."""


@keys.command("issue")
@click.option("--user", "username", required=True, help="密钥所属用户 user the key acts as")
@click.option("--name", required=True, help="用途 what the key is for, e.g. 12345-hotline")
@click.option(
    "--expires", "days", type=click.IntRange(min=1), default=None, help="有效天数 days valid"
)
@click.option(
    "--role",
    type=click.Choice(ROLE_NAMES),
    default=None,
    help="密钥角色(不高于用户) the key's role, at most its user's (default: the user's)",
)
@click.option(
    "--collections",
    default=None,
    help="仅限这些集合 only these collections, comma-separated (writes, restricted reads)",
)
def keys_issue(
    username: str, name: str, days: int | None, role: str | None, collections: str | None
) -> None:
    """签发密钥 — issue a key; it is printed once and only its hash is stored."""
    scope_ids = None
    if collections is not None:
        scope_ids = sorted({c.strip() for c in collections.split(",") if c.strip()})
        if not scope_ids:
            fail("错误 — error: --collections names no collection")

    def issue(conn: connection) -> tuple[str, str, object]:
        key_id, key, expires_at = store.issue_key(
            conn,
            username,
            name,
            days,
            role=Role.parse(role) if role else None,
            collections=scope_ids,
        )
        after = {
            "key_id": key_id,
            "user": store.normalize_username(username),
            "name": name,
            "expires_at": _when(expires_at),
            "role": role,
            "collections": scope_ids,
        }
        audit.record(conn, _actor(), "key.issue", "api_keys", key_id, None, after)
        return key_id, key, expires_at

    key_id, key, expires_at = _run(issue)  # type: ignore[misc]
    # Only the key goes to stdout, so `KEY=$(onemap keys issue …)` captures just the key.
    click.echo(f"已签发密钥 — issued key {key_id} (到期 expires: {_when(expires_at)})", err=True)
    click.echo(
        "请立即保存，此密钥不会再次显示 — store it now, it will not be shown again:", err=True
    )
    click.echo(key)


@keys.command("list")
@click.option("--user", "username", default=None, help="只列出该用户的密钥 only this user's keys")
def keys_list(username: str | None) -> None:
    """列出密钥 — list keys (ids and state, never the secrets)."""
    rows = _run(lambda conn: store.list_keys(conn, username)) or []
    click.echo(
        f"{'密钥 key id':<14} {'用户 user':<20} {'状态 state':<12} {'到期 expires':<26} "
        "用途 name  [角色 role; 集合 collections]"
    )
    for row in rows:
        state = _key_state(row)
        scoped = [f"role {row['role']}"] if row["role"] else []
        if row["collections"] is not None:
            scoped.append("collections " + ",".join(row["collections"]))
        click.echo(
            f"{row['key_id']:<14} {row['username']:<20} {state:<12} "
            f"{_when(row['expires_at']):<26} {row['name']}"
            + (f"  [{'; '.join(scoped)}]" if scoped else "")
        )


@keys.command("revoke")
@click.argument("key_id")
def keys_revoke(key_id: str) -> None:
    """吊销密钥 — revoke KEY_ID at once."""

    def revoke(conn: connection) -> None:
        store.revoke_key(conn, key_id)
        audit.record(
            conn, _actor(), "key.revoke", "api_keys", key_id, {"revoked": False}, {"revoked": True}
        )

    _run(revoke)
    click.echo(f"已吊销密钥 — revoked key {key_id}")
