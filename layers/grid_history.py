"""What changed in the grid layout: one grid's versions, and two layouts compared.

Reads only; the writes that make versions are `grid_edits.py`.
"""

from __future__ import annotations

from typing import Any

from layers.dbapi import Cursor as cursor


def history(cur: cursor, code: str) -> list[dict[str, Any]]:
    """Every version of `code`, oldest first, with its metric area."""
    cur.execute(
        "SELECT version, valid_from, valid_to, name, town_code, grid_type, "
        "onemap_area_m2(geom) FROM grids WHERE code = %s ORDER BY version",
        (code,),
    )
    keys = ("version", "valid_from", "valid_to", "name", "town_code", "grid_type", "area_m2")
    return [dict(zip(keys, row, strict=True)) for row in cur.fetchall()]


_AT = "valid_from <= %(t)s AND (valid_to IS NULL OR valid_to > %(t)s)"


def diff(cur: cursor, t_from: Any, t_to: Any, grid_type: str | None = None) -> dict[str, Any]:
    """Grids added, removed, reshaped (geometry changed) and modified (attributes only)
    between the layouts in force at `t_from` and at `t_to`, with areas in m²."""
    cur.execute(
        f"""
        WITH a AS (SELECT * FROM grids WHERE {_AT.replace("%(t)s", "%(f)s")}
                   AND (%(type)s::text IS NULL OR grid_type = %(type)s)),
             b AS (SELECT * FROM grids WHERE {_AT.replace("%(t)s", "%(to)s")}
                   AND (%(type)s::text IS NULL OR grid_type = %(type)s))
        SELECT CASE WHEN a.gid IS NULL THEN 'added' WHEN b.gid IS NULL THEN 'removed'
                    WHEN NOT ST_Equals(a.geom, b.geom) THEN 'reshaped' ELSE 'modified' END,
               coalesce(a.code, b.code), a.version, b.version,
               onemap_area_m2(a.geom), onemap_area_m2(b.geom),
               CASE WHEN a.gid IS NOT NULL AND b.gid IS NOT NULL
                    THEN onemap_area_m2(ST_SymDifference(a.geom, b.geom)) END
        FROM a FULL JOIN b ON a.code = b.code
        WHERE a.gid IS DISTINCT FROM b.gid
        ORDER BY 2
        """,
        {"f": t_from, "to": t_to, "type": grid_type},
    )
    out: dict[str, Any] = {"added": [], "removed": [], "reshaped": [], "modified": []}
    for kind, code, v_from, v_to, a_from, a_to, moved in cur.fetchall():
        entry: dict[str, Any] = {"code": code}
        if kind == "added":
            entry.update(version=v_to, area_m2=round(a_to, 3))
        elif kind == "removed":
            entry.update(version=v_from, area_m2=round(a_from, 3))
        else:
            entry.update(
                from_version=v_from,
                to_version=v_to,
                area_before_m2=round(a_from, 3),
                area_after_m2=round(a_to, 3),
                area_change_m2=round(a_to - a_from, 3),
            )
            if kind == "reshaped":
                entry["area_moved_m2"] = round(moved, 3)
        out[kind].append(entry)
    return out
