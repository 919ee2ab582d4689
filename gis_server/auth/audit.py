"""The audit trail: who changed what, when, from where, before and after.

`record` writes into the caller's transaction on purpose: if the change is
rolled back, so is its audit row, and a committed change always has one.
"""

from __future__ import annotations

import json
from typing import Any

from psycopg import Connection

from gis_server.auth.principal import Principal


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, default=str)


def record(
    conn: Connection,
    actor: Principal | str,
    action: str,
    layer: str | None,
    feature_id: str | int | None,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    *,
    client_ip: str | None = None,
) -> int:
    """Append one audit row (not committed here) and return its id.

    `actor` is the request's Principal, or a plain name such as ``cli:root``
    for changes made from the command line. `before`/`after` are the feature
    (properties and geometry as GeoJSON) or None for create/delete.
    """
    if isinstance(actor, Principal):
        who = (actor.username, actor.user_id, actor.role.label, actor.method, actor.key_id)
    else:
        who = (actor, None, None, "cli", None)
    with conn.cursor() as cur:
        cur.execute(
            "INSERT INTO audit_log (actor, actor_user_id, role, auth_method, api_key_id, action, "
            "layer, feature_id, before, after, client_ip) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s::jsonb, %s) RETURNING id",
            (
                *who,
                action,
                layer,
                None if feature_id is None else str(feature_id),
                _json(before),
                _json(after),
                client_ip,
            ),
        )
        return cur.fetchone()[0]
