"""The grid editing operations GIS staff ask for, as geometry in PostGIS plus `grid_edits.apply`.

- reshape: move the shared boundary of two neighbours (by a line, or by the new
  geometry of one — the other gets the rest of their union);
- split: cut one grid by a line into parts with new codes;
- merge: join several grids into one (a kept or a new code).

Each builds `Change`s and hands them to `apply`, so the topology rules, history and
re-assignment are the same as for any other write.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from layers import topology
from layers.dbapi import Cursor as cursor
from layers.grid_edits import (
    WRITABLE,
    Change,
    EditResult,
    GridConflict,
    GridNotFound,
    apply,
    current,
    lock_codes,
)

_GEOM = "ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326)"
_OUT = "ST_AsGeoJSON(ST_Multi({}), 15)"  # full precision: parts must tile exactly


def _open_rows(cur: cursor, codes: Sequence[str]) -> dict[str, dict[str, Any]]:
    lock_codes(cur, codes)
    rows = {}
    for code in codes:
        row = current(cur, code)
        if row is None:
            raise GridNotFound(code)
        rows[code] = row
    return rows


def _props(row: dict[str, Any]) -> dict[str, Any]:
    p = row["feature"]["properties"]
    return {k: p.get(k) for k in WRITABLE}


def _same_kind(rows: dict[str, dict[str, Any]]) -> None:
    kinds = {(_props(r)["grid_type"], _props(r)["town_code"]) for r in rows.values()}
    if len(kinds) > 1:
        raise GridConflict(
            "网格类型或所属镇街不同 — the grids differ in grid_type or town_code: "
            + ", ".join(sorted(rows))
        )


def reshape(
    cur: cursor,
    codes: Sequence[str],
    *,
    boundary: dict[str, Any] | None = None,
    geometry: dict[str, Any] | None = None,
    expected: dict[str, int] | None = None,
    tolerance: topology.Tolerance = topology.DEFAULT,
) -> EditResult:
    """New shared boundary of codes[0] and codes[1]; their union is kept exactly."""
    if len(codes) != 2 or codes[0] == codes[1]:
        raise GridConflict("codes: 需要两个不同的网格编码 — give exactly two different codes")
    if (boundary is None) == (geometry is None):
        raise GridConflict("需要 boundary 或 geometry 之一 — give either boundary or geometry")
    a, b = codes
    rows = _open_rows(cur, codes)
    _same_kind(rows)
    params: dict[str, Any] = {"a": rows[a]["gid"], "b": rows[b]["gid"]}
    if geometry is not None:
        params["g"] = json.dumps(geometry)
        cur.execute(
            f"""WITH o AS (SELECT (SELECT geom FROM grids WHERE gid = %(a)s) AS ga,
                                  (SELECT geom FROM grids WHERE gid = %(b)s) AS gb),
                     n AS (SELECT {_GEOM.replace("%s", "%(g)s")} AS na, ST_Union(ga, gb) AS u FROM o)
                SELECT {_OUT.format("ST_CollectionExtract(na, 3)")},
                       {_OUT.format("ST_CollectionExtract(ST_Difference(u, na), 3)")} FROM n""",
            params,
        )
    else:
        params["line"] = json.dumps(boundary)
        cur.execute(
            f"""WITH o AS (SELECT (SELECT geom FROM grids WHERE gid = %(a)s) AS ga,
                                  (SELECT geom FROM grids WHERE gid = %(b)s) AS gb),
                     u AS (SELECT ga, gb, ST_UnaryUnion(ST_Union(ga, gb)) AS u FROM o),
                     p AS (SELECT ga, gb, (ST_Dump(ST_Split(u,
                              ST_Snap({_GEOM.replace("%s", "%(line)s")}, u, 1e-7)))).geom AS piece
                           FROM u),
                     side AS (SELECT piece, ST_Area(ST_Intersection(piece, ga))
                                            >= ST_Area(ST_Intersection(piece, gb)) AS to_a FROM p)
                SELECT {_OUT.format("ST_Union(piece) FILTER (WHERE to_a)")},
                       {_OUT.format("ST_Union(piece) FILTER (WHERE NOT to_a)")},
                       count(*) FROM side""",
            params,
        )
    row = cur.fetchone()
    if geometry is None and row[2] < 2:
        raise GridConflict("boundary: 线未穿过两网格的合并范围 — the line does not cut their union")
    new_a, new_b = row[0], row[1]
    if (
        not new_a
        or not new_b
        or json.loads(new_a)["coordinates"] == []
        or json.loads(new_b)["coordinates"] == []
    ):
        raise GridConflict(
            "调整后有网格为空,请用 grid-merge — a grid would become empty; use grid-merge"
        )
    changes = [Change(a, _props(rows[a]), new_a), Change(b, _props(rows[b]), new_b)]
    return apply(cur, changes, expected=expected, tolerance=tolerance)


def split(
    cur: cursor,
    code: str,
    line: dict[str, Any],
    new_codes: Sequence[str] | None = None,
    *,
    expected: int | None = None,
    tolerance: topology.Tolerance = topology.DEFAULT,
) -> EditResult:
    """Close `code` and open one grid per part of it cut by `line` (largest part first).

    Parts get `new_codes` (default <code>-1, <code>-2 …), the old attributes, names
    suffixed with the part number, and population/households shared by area.
    """
    rows = _open_rows(cur, [code])
    cur.execute(
        f"""SELECT {_OUT.format("piece")}, ST_Area(piece::geography) FROM (
              SELECT (ST_Dump(ST_Split(geom, ST_Snap({_GEOM}, geom, 1e-7)))).geom AS piece
              FROM grids WHERE gid = %s) p
            ORDER BY ST_Area(piece::geography) DESC""",
        (json.dumps(line), rows[code]["gid"]),
    )
    parts = cur.fetchall()
    if len(parts) < 2:
        raise GridConflict("line: 线未把网格分开 — the line does not cut the grid in two")
    codes = list(new_codes) if new_codes else [f"{code}-{i}" for i in range(1, len(parts) + 1)]
    if len(codes) != len(parts):
        raise GridConflict(
            f"new_codes: 分出 {len(parts)} 块,给了 {len(codes)} 个编码 — "
            f"the line makes {len(parts)} parts but {len(codes)} codes were given"
        )
    if code in codes:
        raise GridConflict(
            "new_codes: 新编码不能沿用原编码 — new codes must differ from the old one"
        )
    base = _props(rows[code])
    total = sum(area for _, area in parts)
    changes: list[Change] = [Change(code, None)]
    left = {k: base.get(k) for k in ("population", "households")}
    for i, ((geom, area), new) in enumerate(zip(parts, codes, strict=True), start=1):
        values = {**base, "name": f"{base['name']}-{i}"}
        for key in ("population", "households"):
            if base.get(key) is not None:
                share = left[key] if i == len(parts) else round(base[key] * area / total)
                values[key] = share
                left[key] -= share
        changes.append(Change(new, values, geom, create=True))
    return apply(
        cur,
        changes,
        expected={code: expected} if expected is not None else None,
        tolerance=tolerance,
    )


def merge(
    cur: cursor,
    codes: Sequence[str],
    into: str,
    name: str | None = None,
    *,
    expected: dict[str, int] | None = None,
    tolerance: topology.Tolerance = topology.DEFAULT,
) -> EditResult:
    """Union `codes` into `into` (one of them — kept with a new version — or a new code)."""
    if len(set(codes)) < 2:
        raise GridConflict("codes: 至少两个不同的网格 — give at least two different codes")
    rows = _open_rows(cur, codes)
    _same_kind(rows)
    cur.execute(
        f"SELECT {_OUT.format('ST_CollectionExtract(ST_UnaryUnion(ST_Collect(geom)), 3)')} "
        "FROM grids WHERE gid = ANY(%s)",
        ([r["gid"] for r in rows.values()],),
    )
    geom = cur.fetchone()[0]
    keep = rows.get(into) or rows[codes[0]]
    values = _props(keep)
    if name:
        values["name"] = name
    for key in ("population", "households"):
        got = [_props(r)[key] for r in rows.values()]
        values[key] = None if any(v is None for v in got) else sum(got)
    changes = [Change(c, None) for c in codes if c != into]
    changes.append(Change(into, values, geom, create=into not in codes))
    return apply(cur, changes, expected=expected, tolerance=tolerance)
