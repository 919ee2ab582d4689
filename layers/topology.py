"""Grid topology rules in PostGIS: no overlaps within a type, grids inside their town,
towns fully covered by their comprehensive grids.

One query checks a *layout* — any relation with (code, town_code, grid_type, geom),
by default the open grid versions — so Part 4 writes, processes and imports all run
the same rules: writes check the table after changing it (inside their transaction),
imports check a staged layout before touching the table.

Measure: pieces are measured in EPSG:4549 (CGCS2000 GK CM 120E), in square metres.
Coincident edges that differ by floating-point noise leave hair-thin pieces (the demo
has 2 cm wide, 2 km long ones); a piece counts only if it still exceeds the area
tolerance after a morphological opening by `snap_m` (shrink then grow by snap_m / 2),
so width below the layout's positional precision is not a gap. A grid whose town
is not loaded is not checked for containment (imports may bring grids before towns;
edits refuse unknown towns in `grid_edits.apply`). The reported area is
the piece's own area; `sliver` marks a violating piece thinner than `sliver_width_m`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from layers.dbapi import Cursor as cursor
from layers.dbapi import quote_ident

KINDS = ("overlap", "outside_town", "gap")
# a layout is SQL text naming a relation: this subquery, or an already-quoted table name
CURRENT = "(SELECT code, town_code, grid_type, geom FROM grids WHERE valid_to IS NULL)"
METRIC_SRID = 4549


@dataclass(frozen=True)
class Tolerance:
    """How big a piece must be to break a rule (configurable in settings.editing)."""

    area_m2: float = 1.0
    snap_m: float = 0.1
    sliver_width_m: float = 1.0


DEFAULT = Tolerance()


@dataclass(frozen=True)
class Violation:
    """One offending piece. `other` is the other grid (overlap) or the town (outside_town, gap)."""

    kind: str
    code: str | None
    other: str | None
    town_code: str | None
    grid_type: str
    area_m2: float
    sliver: bool
    geometry: dict[str, Any]

    @property
    def message(self) -> str:
        a = f"{self.area_m2:.1f} m²"
        if self.kind == "overlap":
            return f"网格 {self.code} 与 {self.other} 重叠 {a} — grid {self.code} overlaps {self.other} by {a}"
        if self.kind == "outside_town":
            return (
                f"网格 {self.code} 超出镇街 {self.other} {a} — "
                f"grid {self.code} lies {a} outside town {self.other}"
            )
        return f"镇街 {self.other} 有 {a} 未被综合网格覆盖 — town {self.other} has a {a} gap"

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "area_m2": round(self.area_m2, 3), "message": self.message}


class TopologyError(Exception):
    """A change would break the grid topology rules; carries every violation."""

    def __init__(self, violations: Sequence[Violation]):
        self.violations = list(violations)
        super().__init__(
            f"网格拓扑规则不满足({len(self.violations)} 处)— "
            f"grid topology rules violated ({len(self.violations)})"
        )


_RAW = """
WITH raw AS (
  SELECT 'overlap' AS kind, a.code, b.code AS other, a.town_code, a.grid_type,
         ST_CollectionExtract(ST_Intersection(a.geom, b.geom), 3) AS piece
  FROM {layout} a JOIN {layout} b
    ON a.grid_type = b.grid_type AND a.code <> b.code AND ST_Intersects(a.geom, b.geom)
  WHERE (%(type)s::text IS NULL OR a.grid_type = %(type)s)
    AND CASE WHEN %(codes)s::text[] IS NULL THEN a.code < b.code
             ELSE a.code = ANY(%(codes)s) AND (a.code < b.code OR NOT b.code = ANY(%(codes)s)) END
  UNION ALL
  SELECT 'outside_town', g.code, g.town_code, g.town_code, g.grid_type,
         ST_CollectionExtract(ST_Difference(g.geom, t.geom), 3)
  FROM {layout} g JOIN towns t ON t.code = g.town_code
  WHERE (%(type)s::text IS NULL OR g.grid_type = %(type)s)
    AND (%(codes)s::text[] IS NULL OR g.code = ANY(%(codes)s))
    AND NOT ST_CoveredBy(g.geom, t.geom)
  UNION ALL
  SELECT 'gap', NULL, t.code, t.code, 'comprehensive', d.piece
  FROM towns t
  CROSS JOIN LATERAL (
    SELECT CASE WHEN %(region)s::geometry IS NULL THEN t.geom
                ELSE ST_Intersection(t.geom, %(region)s::geometry) END AS area
  ) r
  CROSS JOIN LATERAL (
    SELECT (ST_Dump(ST_CollectionExtract(ST_Difference(r.area, coalesce(
      (SELECT ST_Union(g.geom) FROM {layout} g
       WHERE g.town_code = t.code AND g.grid_type = 'comprehensive'
         AND ST_Intersects(g.geom, r.area)),
      'SRID=4326;POLYGON EMPTY'::geometry)), 3))).geom AS piece
  ) d
  WHERE coalesce(%(type)s::text, 'comprehensive') = 'comprehensive'
    AND (%(towns)s::text[] IS NULL OR t.code = ANY(%(towns)s))
    AND NOT ST_IsEmpty(r.area)
),
measured AS (
  SELECT raw.*, ST_Transform(piece, {srid}) AS mp FROM raw
  WHERE piece IS NOT NULL AND NOT ST_IsEmpty(piece)
)
SELECT kind, code, other, town_code, grid_type, ST_Area(mp) AS area_m2,
       2 * ST_Area(mp) / NULLIF(ST_Perimeter(mp), 0) AS width_m,
       ST_AsGeoJSON(piece, 8) AS geojson
FROM measured
WHERE ST_Area(mp) > %(tol)s
  AND ST_Area(ST_Buffer(ST_Buffer(mp, -%(half)s), %(half)s)) > %(tol)s
ORDER BY array_position(ARRAY['overlap','outside_town','gap'], kind), code, other
"""


def check(
    cur: cursor,
    *,
    codes: Sequence[str] | None = None,
    towns: Sequence[str] | None = None,
    region_gids: Sequence[int] | None = None,
    grid_type: str | None = None,
    layout: str = CURRENT,
    tolerance: Tolerance | None = None,
) -> list[Violation]:
    """Violations in `layout`, scoped to what a change can affect.

    codes: grids whose overlaps and town containment are checked (None: all).
    towns: towns whose coverage is checked (None: all; [] : none).
    region_gids: rows of `grids` (old and new versions of the changed grids) whose
    union bounds where a new gap can appear; None checks whole towns.
    """
    tolerance = tolerance or DEFAULT
    region = None
    if region_gids is not None:
        cur.execute(
            "SELECT ST_AsEWKB(ST_Union(geom)) FROM grids WHERE gid = ANY(%s)", (list(region_gids),)
        )
        region = cur.fetchone()[0]
    query = _RAW.format(layout=layout, srid=int(METRIC_SRID))
    cur.execute(
        query,
        {
            "codes": list(codes) if codes is not None else None,
            "towns": list(towns) if towns is not None else None,
            "region": region,
            "type": grid_type,
            "tol": tolerance.area_m2,
            "half": tolerance.snap_m / 2,
        },
    )
    return [
        Violation(
            kind=kind,
            code=code,
            other=other,
            town_code=town,
            grid_type=gtype,
            area_m2=float(area),
            sliver=width is not None and float(width) < tolerance.sliver_width_m,
            geometry=json.loads(geojson),
        )
        for kind, code, other, town, gtype, area, width, geojson in cur.fetchall()
    ]


def check_all(
    cur: cursor, grid_type: str | None = None, tolerance: Tolerance | None = None
) -> list[Violation]:
    """The district report: every violation among the open grids (optionally one type)."""
    return check(cur, grid_type=grid_type, tolerance=tolerance)


def summary(violations: Sequence[Violation]) -> dict[str, int]:
    """Counts per kind plus slivers, for reports."""
    out = {kind: 0 for kind in KINDS}
    for v in violations:
        out[v.kind] += 1
    out["sliver"] = sum(v.sliver for v in violations)
    return out


STAGED_LAYOUT = "_onemap_grid_layout"


def check_staged(
    cur: cursor, stage_table: str, tolerance: Tolerance | None = None
) -> list[tuple[int | None, Violation]]:
    """Check the layout an import would produce (open grids with the staged ones replacing
    theirs) before any grid row changes; returns (staged _row or None, violation) pairs.
    """
    stage = quote_ident(stage_table)
    layout = quote_ident(STAGED_LAYOUT)
    _stage_layout(cur, stage_table)
    cur.execute(
        f"SELECT s.code, s._row, c.gid, l.town_code, c.town_code FROM {stage} s "
        "LEFT JOIN grids c ON c.code = s.code AND c.valid_to IS NULL "
        f"LEFT JOIN {layout} l ON l.code = s.code"
    )
    rows = cur.fetchall()
    row_of = {code: row for code, row, *_ in rows}
    gids = [gid for _, _, gid, _, _ in rows if gid is not None]
    towns = sorted({t for *_, new, old in rows for t in (new, old) if t})
    violations = check(
        cur,
        codes=list(row_of),
        towns=towns if gids else [],
        region_gids=gids or None,
        layout=layout,
        tolerance=tolerance,
    )
    return [(row_of.get(v.code) if v.code else None, v) for v in violations]


def _stage_layout(cur: cursor, stage_table: str) -> None:
    """The would-be layout as a temporary table (STAGED_LAYOUT), indexed and analysed.

    The stage has code and geom and may lack town_code / grid_type (then the open
    version's values carry forward, as the versioned upsert does).
    """
    cur.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped",
        (stage_table,),
    )
    have = {r[0] for r in cur.fetchall()}

    def carried(col: str) -> str:
        c = quote_ident(col)
        return f"coalesce(s.{c}, c.{c})" if col in have else f"c.{c}"

    layout, stage = quote_ident(STAGED_LAYOUT), quote_ident(stage_table)
    cur.execute(f"DROP TABLE IF EXISTS {layout}")
    cur.execute(
        f"CREATE TEMP TABLE {layout} ON COMMIT DROP AS "
        "SELECT g.code, g.town_code, g.grid_type, g.geom FROM grids g "
        f"WHERE g.valid_to IS NULL AND NOT EXISTS (SELECT 1 FROM {stage} s WHERE s.code = g.code) "
        f"UNION ALL SELECT s.code, {carried('town_code')}, {carried('grid_type')}, "
        f"ST_Multi(s.geom) FROM {stage} s "
        "LEFT JOIN grids c ON c.code = s.code AND c.valid_to IS NULL"
    )
    cur.execute(f"CREATE INDEX ON {layout} USING gist (geom)")
    cur.execute(f"ANALYZE {layout}")
