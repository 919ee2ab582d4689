"""Keyset paging: next links carry an opaque `cursor` (the sort keys of the page's last row).

With a cursor the page starts with `WHERE (keys) > (last keys)` on the order
index instead of skipping `offset` rows, so the 100th page costs what the first
does. `offset` keeps working (the OGC contract) and next links carry both.
Only orders over NOT NULL columns get cursors: with NULLs a row comparison
would skip rows.
"""

from __future__ import annotations

import base64
import binascii
import json

from psycopg import sql

from gis_server.database import ident
from gis_server.errors import InvalidParameter
from gis_server.ogc.sql import Binds

Keys = list[tuple[str, bool]]  # (column, ascending)


def encode(keys: Keys, values_json: str) -> str:
    """Cursor text for the row whose order-key values PostGIS gave as a JSON array."""
    doc = json.dumps(
        [[f"{'+' if asc else '-'}{name}" for name, asc in keys], json.loads(values_json)]
    )
    return base64.urlsafe_b64encode(doc.encode()).decode().rstrip("=")


def decode(cursor: str, keys: Keys) -> list[object]:
    """The last-row values of a cursor made for exactly these keys, else 400 naming `cursor`."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        names, values = json.loads(raw)
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError):
        raise InvalidParameter(
            "cursor", "not a cursor of this API (follow the next link)"
        ) from None
    expected = [f"{'+' if asc else '-'}{name}" for name, asc in keys]
    if names != expected or not isinstance(values, list) or len(values) != len(keys):
        raise InvalidParameter(
            "cursor", "made for another sort order; drop it or follow next links"
        )
    if any(v is None or isinstance(v, dict | list) for v in values):
        raise InvalidParameter("cursor", "holds an invalid value")
    return values


def after(keys: Keys, values: list[object], binds: Binds) -> sql.Composable:
    """Rows strictly after `values` in the order of `keys` (index-friendly leading bound)."""
    bound = [binds(v if isinstance(v, str) else json.dumps(v)) for v in values]
    if all(asc for _, asc in keys) or not any(asc for _, asc in keys):
        op = ">" if keys[0][1] else "<"
        cols = sql.SQL(", ").join(ident(name) for name, _ in keys)
        vals = sql.SQL(", ").join(bound)
        lead = sql.SQL("{} {}= {}").format(ident(keys[0][0]), sql.SQL(op), bound[0])
        return sql.SQL("({} AND ({}) {} ({}))").format(lead, cols, sql.SQL(op), vals)
    terms: list[sql.Composable] = []
    for i, (name, asc) in enumerate(keys):
        eq = [sql.SQL("{} = {}").format(ident(n), bound[j]) for j, (n, _) in enumerate(keys[:i])]
        cmp = sql.SQL("{} {} {}").format(ident(name), sql.SQL(">" if asc else "<"), bound[i])
        terms.append(sql.SQL("(") + sql.SQL(" AND ").join([*eq, cmp]) + sql.SQL(")"))
    return sql.SQL("(") + sql.SQL(" OR ").join(terms) + sql.SQL(")")


def values_expr(keys: Keys) -> sql.Composable:
    """json_build_array of a row's order-key values, as text (becomes the next cursor)."""
    return sql.SQL("json_build_array({})::text").format(
        sql.SQL(", ").join(ident(name) for name, _ in keys)
    )
