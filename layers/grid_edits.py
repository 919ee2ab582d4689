"""Versioned grid changes: close the open version, open version + 1, check the rules,
re-assign cameras and open events — all in the caller's transaction.

Every write path (OGC Part 4, the grid processes, restore) funnels into `apply`, so
none can skip the topology rules or the re-assignment. Concurrency: advisory
transaction locks on each code and each affected town serialise edits that could
interact (two edits of neighbours could each pass the rules alone and overlap
together); the version is compared only after the lock is held.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from layers import topology
from layers.dbapi import Cursor as cursor
from layers.registry import GRIDS

# What an editor may set; version/valid_*/area_km2 are the system's.
WRITABLE = (
    "name",
    "town_code",
    "grid_type",
    "worker_name",
    "worker_phone",
    "population",
    "households",
)
READ_ONLY = ("version", "valid_from", "valid_to", "area_km2")
_PROPS = tuple(p.name for p in GRIDS.properties)
AREA_KM2 = "round((ST_Area({g}::geography) / 1e6)::numeric, 6)::double precision"


class GridNotFound(LookupError):
    """No open version of the code (or no such version)."""

    def __init__(self, code: str, version: int | None = None):
        self.code, self.version = code, version
        what = f"{code} v{version}" if version else code
        super().__init__(f"没有该网格 — no grid {what}")


class StaleVersion(Exception):
    """The editor's version (If-Match) is not the open one any more."""

    def __init__(self, code: str, expected: int, current: int):
        self.code, self.expected, self.current = code, expected, current
        super().__init__(
            f"网格 {code} 已被修改(当前版本 {current})— grid {code} changed: "
            f"you edited version {expected}, the current one is {current}"
        )


class GridConflict(ValueError):
    """A change that cannot be applied as asked (e.g. creating a code that is open)."""


class UnknownTown(ValueError):
    """An edited grid names a town that is not in the towns layer."""

    def __init__(self, town_code: object):
        self.town_code = town_code
        super().__init__(f"未知镇街 — unknown town {town_code!r}")


@dataclass(frozen=True)
class Change:
    """The next state of one grid: `values` + `geometry` (GeoJSON text) or None to close it."""

    code: str
    values: Mapping[str, Any] | None
    geometry: str | None = None  # GeoJSON geometry (CRS84); None keeps the current one
    create: bool = False  # the code must not be open (a new grid)


@dataclass
class EditResult:
    closed: list[dict[str, Any]] = field(default_factory=list)  # {code, version}
    opened: list[dict[str, Any]] = field(default_factory=list)  # {code, version, area_m2}
    reassigned: dict[str, int] = field(default_factory=lambda: {"cameras": 0, "events": 0})
    before: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    after: dict[str, dict[str, Any] | None] = field(default_factory=dict)

    def outputs(self) -> dict[str, Any]:
        return {
            "closed": self.closed,
            "opened": self.opened,
            "reassigned": self.reassigned,
            "violations": [],
        }


def _lock(cur: cursor, namespace: str, keys: Sequence[str]) -> None:
    for key in sorted(set(keys)):
        cur.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"onemap.{namespace}:{key}",)
        )


def lock_codes(cur: cursor, codes: Sequence[str]) -> None:
    """Serialise edits of these grid codes until the transaction ends."""
    _lock(cur, "grid", codes)


def feature_sql(alias: str = "g") -> str:
    """GeoJSON Feature of a grid row (all public properties)."""
    props = ", ".join(f"'{p}', {alias}.{p}" for p in _PROPS)
    return (
        f"json_build_object('type', 'Feature', 'id', {alias}.code, "
        f"'geometry', ST_AsGeoJSON({alias}.geom, 15)::json, 'properties', json_build_object({props}))"
    )


def current(cur: cursor, code: str) -> dict[str, Any] | None:
    """The open version of `code` as {gid, version, feature} (call after lock_codes)."""
    cur.execute(
        f"SELECT gid, version, {feature_sql()} FROM grids g WHERE code = %s AND valid_to IS NULL",
        (code,),
    )
    row = cur.fetchone()
    return None if row is None else {"gid": row[0], "version": row[1], "feature": row[2]}


def version_row(cur: cursor, code: str, version: int) -> dict[str, Any] | None:
    cur.execute(
        f"SELECT gid, version, {feature_sql()} FROM grids g WHERE code = %s AND version = %s",
        (code, version),
    )
    row = cur.fetchone()
    return None if row is None else {"gid": row[0], "version": row[1], "feature": row[2]}


def _close(cur: cursor, gid: int) -> None:
    cur.execute("UPDATE grids SET valid_to = now(), updated_at = now() WHERE gid = %s", (gid,))


def _open(cur: cursor, code: str, values: Mapping[str, Any], geom_sql: str, geom_arg: Any) -> int:
    cols = [c for c in WRITABLE if c in values]
    cur.execute(
        f"INSERT INTO grids (code, {', '.join(cols)}, version, valid_from, geom, area_km2) "
        f"SELECT %s, {', '.join(['%s'] * len(cols))}, "
        "coalesce((SELECT max(version) FROM grids WHERE code = %s), 0) + 1, now(), n.geom, "
        f"{AREA_KM2.format(g='n.geom')} FROM (SELECT {geom_sql} AS geom) n RETURNING gid",
        (code, *[values[c] for c in cols], code, geom_arg),
    )
    return cur.fetchone()[0]


GEOJSON_IN = "ST_Multi(ST_CollectionExtract(ST_SetSRID(ST_GeomFromGeoJSON(%s), 4326), 3))"


def apply(
    cur: cursor,
    changes: Sequence[Change],
    *,
    expected: Mapping[str, int] | None = None,
    tolerance: topology.Tolerance = topology.DEFAULT,
) -> EditResult:
    """Apply `changes` as new versions, refuse them on topology violations, re-assign.

    expected: code -> version the editor saw (If-Match); StaleVersion if different.
    A code without an open version is created (version = max earlier + 1) when it
    has values, GridNotFound when it is to be closed. Raises TopologyError.
    """
    codes = [c.code for c in changes]
    if len(set(codes)) != len(codes):
        raise GridConflict("同一网格在一次修改中出现两次 — a code appears twice in one edit")
    lock_codes(cur, codes)
    olds: dict[str, dict[str, Any] | None] = {c.code: current(cur, c.code) for c in changes}
    _check_expected(olds, expected or {})
    towns = _towns_touched(changes, olds)
    _lock(cur, "town", towns)
    _check_towns_exist(cur, changes)
    result = EditResult()
    touched_gids, opened_codes = _write_versions(cur, changes, olds, result)
    _read_opened(cur, touched_gids, result)
    _check_topology(cur, result, opened_codes, towns, touched_gids, tolerance)
    result.reassigned = reassign(cur, touched_gids, codes)
    return result


def _check_expected(olds: Mapping[str, dict[str, Any] | None], expected: Mapping[str, int]) -> None:
    """The versions the editor saw are still the open ones (compared under the lock)."""
    for code, want in expected.items():
        old = olds.get(code)
        if old is None:
            raise GridNotFound(code)
        if old["version"] != want:
            raise StaleVersion(code, want, old["version"])


def _towns_touched(
    changes: Sequence[Change], olds: Mapping[str, dict[str, Any] | None]
) -> list[str]:
    """The towns of the grids before and after the edit: their layouts are re-checked."""
    towns: set[str] = set()
    for change in changes:
        old = olds[change.code]
        if old is not None:
            towns.add(old["feature"]["properties"]["town_code"])
        if change.values is not None:
            merged = {**(old["feature"]["properties"] if old else {}), **change.values}
            towns.add(merged.get("town_code"))
    return sorted(t for t in towns if t)


def _check_towns_exist(cur: cursor, changes: Sequence[Change]) -> None:
    for change in changes:
        town = None if change.values is None else change.values.get("town_code")
        if town is not None:
            cur.execute("SELECT 1 FROM towns WHERE code = %s", (town,))
            if cur.fetchone() is None:
                raise UnknownTown(town)


def _write_versions(
    cur: cursor,
    changes: Sequence[Change],
    olds: Mapping[str, dict[str, Any] | None],
    result: EditResult,
) -> tuple[list[int], list[str]]:
    """Close each open version and open the next; (gids closed or opened, codes opened)."""
    touched_gids: list[int] = []
    opened_codes: list[str] = []
    for change in changes:
        old = olds[change.code]
        result.before[change.code] = old["feature"] if old else None
        if change.create and old is not None:
            raise GridConflict(f"网格已存在 — grid {change.code} already exists")
        if change.values is None and old is None:
            raise GridNotFound(change.code)
        if old is not None:
            _close(cur, old["gid"])
            touched_gids.append(old["gid"])
            result.closed.append({"code": change.code, "version": old["version"]})
        if change.values is None:
            result.after[change.code] = None
            continue
        values = {**(old["feature"]["properties"] if old else {}), **change.values}
        if change.geometry is not None:
            gid = _open(cur, change.code, values, GEOJSON_IN, change.geometry)
        elif old is not None:
            gid = _open(
                cur, change.code, values, "(SELECT geom FROM grids WHERE gid = %s)", old["gid"]
            )
        else:
            raise GridConflict(f"新网格需要几何 — new grid {change.code} needs a geometry")
        touched_gids.append(gid)
        opened_codes.append(change.code)
    return touched_gids, opened_codes


def _read_opened(cur: cursor, touched_gids: Sequence[int], result: EditResult) -> None:
    """The versions just opened, as features and with their metric area."""
    cur.execute(
        f"SELECT g.code, g.version, onemap_area_m2(g.geom), {feature_sql()} "
        "FROM grids g WHERE gid = ANY(%s) AND valid_to IS NULL ORDER BY code",
        (list(touched_gids),),
    )
    for code, version, area, feature in cur.fetchall():
        result.opened.append({"code": code, "version": version, "area_m2": round(area, 3)})
        result.after[code] = feature


def _check_topology(
    cur: cursor,
    result: EditResult,
    opened_codes: Sequence[str],
    towns: Sequence[str],
    touched_gids: Sequence[int],
    tolerance: topology.Tolerance,
) -> None:
    """TopologyError when the new layout breaks a rule; town gaps only matter when a
    comprehensive grid changed (they tile the towns)."""
    comprehensive_touched = any(
        (f or {}).get("properties", {}).get("grid_type") == "comprehensive"
        for f in [*result.before.values(), *result.after.values()]
    )
    violations = topology.check(
        cur,
        codes=list(opened_codes),
        towns=list(towns) if comprehensive_touched else [],
        region_gids=list(touched_gids),
        tolerance=tolerance,
    )
    if violations:
        raise topology.TopologyError(violations)


_REASSIGN = """
WITH region AS (SELECT ST_Union(geom) AS g FROM grids WHERE gid = ANY(%(gids)s)),
cand AS (
  SELECT x.gid FROM {table} x, region r WHERE ST_Intersects(x.geom, r.g) {open}
  UNION SELECT x.gid FROM {table} x WHERE x.grid_code = ANY(%(codes)s) {open}
),
target AS (
  SELECT x.gid, (SELECT g.code FROM grids g
                 WHERE g.valid_to IS NULL AND g.grid_type = 'comprehensive'
                   AND ST_Covers(g.geom, x.geom) ORDER BY g.code LIMIT 1) AS code
  FROM {table} x JOIN cand USING (gid)
)
UPDATE {table} x SET grid_code = t.code, updated_at = now()
FROM target t WHERE x.gid = t.gid AND x.grid_code IS DISTINCT FROM t.code
"""


def reassign(cur: cursor, gids: Sequence[int], codes: Sequence[str]) -> dict[str, int]:
    """Point cameras and open events (status <> closed) at the comprehensive grid that now
    contains them; rows in the old or new area of the changed grids, or naming a changed
    code, are looked at. Returns how many rows changed per table."""
    counts = {}
    for table, extra in (("cameras", ""), ("events", "AND x.status <> 'closed'")):
        cur.execute(
            _REASSIGN.format(table=table, open=extra), {"gids": list(gids), "codes": list(codes)}
        )
        counts[table] = cur.rowcount
    return counts


def restore(
    cur: cursor,
    code: str,
    version: int,
    *,
    expected: int | None = None,
    tolerance: topology.Tolerance = topology.DEFAULT,
) -> EditResult:
    """Open a new version of `code` equal to `version` (geometry and attributes)."""
    old = version_row(cur, code, version)
    if old is None:
        raise GridNotFound(code, version)
    props = old["feature"]["properties"]
    change = Change(
        code,
        {k: props.get(k) for k in WRITABLE},
        json.dumps(old["feature"]["geometry"]),
    )
    return apply(
        cur,
        [change],
        expected={code: expected} if expected is not None else None,
        tolerance=tolerance,
    )
