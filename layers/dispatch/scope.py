"""Whose events a user acts on: a handler's department, a grid worker's grids, and for
every role the user's district (users.district_code; NULL: the whole city)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from layers.dispatch.errors import BadInput
from layers.dispatch.timeline import Actor


def actor_for(cur: Any, user_id: int, username: str, role: str) -> Actor:
    """The Actor of a signed-in user, with the scope stored for them."""
    cur.execute(
        "SELECT u.department_code, coalesce(array_agg(g.grid_code) FILTER (WHERE g.grid_code IS NOT NULL), "
        "'{}'), u.district_code FROM users u LEFT JOIN user_grids g ON g.user_id = u.id "
        "WHERE u.id = %(id)s GROUP BY u.department_code, u.district_code",
        {"id": user_id},
    )
    row = cur.fetchone()
    dept, grids, district = (row[0], row[1], row[2]) if row else (None, [], None)
    return Actor(username, role, user_id, dept, frozenset(grids or ()), district)


def district_sql(actor: Actor, alias: str = "e") -> str:
    """The SQL condition keeping rows to the actor's district (`%(district)s`), or true."""
    return "true" if actor.district_code is None else f"{alias}.district_code = %(district)s"


def in_district(actor: Actor, district_code: str | None) -> bool:
    """Whether a row of `district_code` is in the actor's district (no district: all are)."""
    return actor.district_code is None or district_code == actor.district_code


def set_district(cur: Any, username: str, district_code: str | None) -> None:
    """Scope `username` to one district (None: the whole city)."""
    if district_code is not None and not re.fullmatch(r"\d{6}", district_code):
        raise BadInput("district", f"应为6位区划代码 — not a 6-digit admin code: {district_code!r}")
    cur.execute(
        "UPDATE users SET district_code = %(d)s WHERE username = %(u)s RETURNING id",
        {"d": district_code, "u": username},
    )
    if cur.fetchone() is None:
        raise BadInput("username", f"没有该用户 — no user {username!r}")


def set_scope(
    cur: Any, username: str, department_code: str | None, grid_codes: Iterable[str]
) -> None:
    """Link `username` to a department and/or grids (replacing earlier grids)."""
    if department_code is not None:
        cur.execute("SELECT 1 FROM departments WHERE code = %(c)s", {"c": department_code})
        if cur.fetchone() is None:
            raise BadInput("department", f"没有该部门 — no department {department_code!r}")
    cur.execute(
        "UPDATE users SET department_code = %(d)s WHERE username = %(u)s RETURNING id",
        {"d": department_code, "u": username},
    )
    row = cur.fetchone()
    if row is None:
        raise BadInput("username", f"没有该用户 — no user {username!r}")
    grids = sorted(set(grid_codes))
    cur.execute("DELETE FROM user_grids WHERE user_id = %(id)s", {"id": row[0]})
    for grid in grids:
        cur.execute(
            "INSERT INTO user_grids (user_id, grid_code) VALUES (%(id)s, %(g)s)",
            {"id": row[0], "g": grid},
        )
