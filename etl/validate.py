"""Row checks before anything touches the database: geometry repair and type, extent,
required keys, duplicate codes. Each failure becomes a Reject with a reason."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

PRECISION = 9  # decimal degrees kept: 1e-9° ≈ 0.1 mm, and exactly representable in text exports


@dataclass(frozen=True)
class Reject:
    row: int
    code: str | None
    reason: str


class GeometryReject(ValueError):
    """The geometry cannot be made into the layer's type."""


def _round(geom: BaseGeometry) -> BaseGeometry:
    return shapely.transform(geom, lambda c: np.round(c, PRECISION))


def _polygonal(geom: BaseGeometry) -> BaseGeometry | None:
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "GeometryCollection":
        parts = [p for g in geom.geoms if (m := _polygonal(g)) is not None for p in m.geoms]
        return shapely.MultiPolygon(parts) if parts else None
    return None


def _point(geom: BaseGeometry) -> BaseGeometry | None:
    if geom.geom_type == "Point":
        return geom
    if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        return geom.geoms[0]
    return None


def normalise(geom: BaseGeometry | None, target: str) -> tuple[BaseGeometry, bool]:
    """The geometry as `target` (MultiPolygon | Point), 2D, valid; and whether it was repaired."""
    if geom is None or geom.is_empty:
        raise GeometryReject("缺少几何 — missing geometry")
    original_type = geom.geom_type
    geom = _round(shapely.force_2d(geom))
    repaired = False
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
        repaired = True
    shaped = _polygonal(geom) if target == "MultiPolygon" else _point(geom)
    if shaped is None or shaped.is_empty:
        raise GeometryReject(
            f"几何类型错误 — wrong geometry type {original_type}, expected {target}"
        )
    if target == "MultiPolygon":
        shaped = shapely.orient_polygons(shaped)
    return shaped, repaired


def extent_check(geom: BaseGeometry, extent: tuple[float, float, float, float]) -> str:
    """'inside', 'partly' (crosses the extent) or 'outside' (entirely outside it)."""
    minx, miny, maxx, maxy = geom.bounds
    ex0, ey0, ex1, ey1 = extent
    if minx >= ex0 and miny >= ey0 and maxx <= ex1 and maxy <= ey1:
        return "inside"
    if maxx < ex0 or minx > ex1 or maxy < ey0 or miny > ey1:
        return "outside"
    return "partly"


def duplicate_rejects(rows: list[int], codes: list[str | None]) -> list[Reject]:
    """Every row whose code appears more than once in the file (none of them is kept)."""
    where: dict[str, list[int]] = defaultdict(list)
    for row, code in zip(rows, codes, strict=True):
        if code is not None:
            where[code].append(row)
    rejects = []
    for code, found in where.items():
        if len(found) > 1:
            for row in found:
                others = ", ".join(str(r) for r in found if r != row)
                rejects.append(
                    Reject(row, code, f"编码重复 — duplicate code {code!r} (also in rows {others})")
                )
    return rejects


def _closed_rule(rec: dict) -> str | None:
    status, closed, created = rec.get("status"), rec.get("closed_at"), rec.get("created_at")
    if status is not None and (status == "closed") != (closed is not None):
        return "办结状态与办结时间不一致 — status 'closed' needs closed_at, and only it"
    if closed is not None and created is not None and closed < created:
        return "办结时间早于受理时间 — closed_at is before created_at"
    return None


def _non_negative(*fields: str):
    def rule(rec: dict) -> str | None:
        bad = [f for f in fields if rec.get(f) is not None and rec[f] < 0]
        return f"不能为负数 — must not be negative: {', '.join(bad)}" if bad else None

    return rule


# Per-layer row rules mirroring the schema's CHECK constraints, so a bad row is
# rejected with a reason instead of failing the whole load in the database.
ROW_RULES = {
    "events": (_closed_rule,),
    "grids": (_non_negative("population", "households"),),
}
