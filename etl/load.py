"""Load prepared rows: COPY into a temp staging table, then one upsert by `code`.

The caller owns the transaction: everything here runs inside it, so a failure
or a dry run rolls back to nothing written.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from typing import Any

import shapely
from psycopg2 import sql
from psycopg2.extensions import cursor

from etl.catalog import Column
from etl.profiles import ImportProfile

STAGE = "_onemap_stage"


@dataclass
class LoadCounts:
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    located: int = 0


def _copy_value(value: Any) -> str:
    if value is None:
        return r"\N"
    if isinstance(value, dt.datetime | dt.date):
        text = value.isoformat()
    else:
        text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def stage(
    cur: cursor,
    columns: list[Column],
    records: list[dict[str, Any]],
    geoms: list[Any] | None,
) -> None:
    """Create the temp staging table (_row, the loaded columns, geom) and COPY the rows in."""
    defs = [sql.SQL("_row integer")]
    defs += [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(c.sql_type)) for c in columns]
    if geoms is not None:
        defs.append(sql.SQL("geom geometry"))
    cur.execute(
        sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
            sql.Identifier(STAGE), sql.SQL(", ").join(defs)
        )
    )
    hexes = (
        shapely.to_wkb(shapely.set_srid(geoms, 4326), hex=True, include_srid=True)
        if geoms is not None
        else None
    )
    buf = io.StringIO()
    for i, rec in enumerate(records):
        values = [rec["_row"], *(rec.get(c.name) for c in columns)]
        if hexes is not None:
            values.append(hexes[i])
        buf.write("\t".join(_copy_value(v) for v in values))
        buf.write("\n")
    buf.seek(0)
    cur.copy_expert(sql.SQL("COPY {} FROM STDIN").format(sql.Identifier(STAGE)), buf)


def locate(cur: cursor) -> int:
    """Fill empty grid_code/town_code of staged points from the containing current grid / town.

    Where grids overlap (special grids over comprehensive ones) the comprehensive,
    then the smallest grid wins. Returns how many rows got a code filled in.
    """
    cur.execute(
        f"""UPDATE {STAGE} s SET grid_code = (
              SELECT g.code FROM grids g
              WHERE g.valid_to IS NULL AND ST_Covers(g.geom, s.geom)
              ORDER BY g.grid_type <> 'comprehensive', ST_Area(g.geom), g.code LIMIT 1)
            WHERE s.grid_code IS NULL RETURNING _row"""
    )
    rows = {r[0] for r in cur.fetchall()}
    cur.execute(
        f"""UPDATE {STAGE} s SET town_code = coalesce(
              (SELECT t.code FROM towns t WHERE ST_Covers(t.geom, s.geom) ORDER BY t.code LIMIT 1),
              (SELECT g.town_code FROM grids g WHERE g.code = s.grid_code AND g.valid_to IS NULL))
            WHERE s.town_code IS NULL RETURNING _row"""
    )
    rows |= {r[0] for r in cur.fetchall()}
    return len(rows & _filled(cur))


def _filled(cur: cursor) -> set[int]:
    cur.execute(f"SELECT _row FROM {STAGE} WHERE grid_code IS NOT NULL OR town_code IS NOT NULL")
    return {r[0] for r in cur.fetchall()}


def col(name: str, alias: str | None = None) -> sql.Composable:
    """A column, qualified by `alias` when given (the staged and the stored row)."""
    return sql.Identifier(alias, name) if alias else sql.Identifier(name)


def value(c: Column, alias: str) -> sql.Composable:
    """Staged value, falling back to the column default for NOT NULL columns with one."""
    if c.not_null and c.default is not None:
        return sql.SQL("coalesce({}, {})").format(col(c.name, alias), sql.SQL(c.default))
    return col(c.name, alias)


def area(alias: str) -> sql.Composable:
    """area_km2 computed from the row's geometry (never taken from a file)."""
    return sql.SQL("round((ST_Area({}::geography) / 1e6)::numeric, 6)::double precision").format(
        col("geom", alias)
    )


# How far a vertex may move and still be "the same geometry" (degrees, ~0.2 mm):
# imports round coordinates to 1e-9 and orient rings (etl/validate.normalise), so a
# stored geometry written by other tools (the demo, QGIS, Part 4) comes back from
# its own export a few 1e-10 away, with its rings the other way round.
SAME_GEOMETRY_DEGREES = 2e-9


def geometry_moved(old: sql.Composable, new: sql.Composable) -> sql.Composable:
    """True where `new` really differs from `old`: not equal, and not merely re-rounded."""
    return sql.SQL(
        "NOT (ST_Equals({o}, {n}) OR (ST_NPoints({o}) = ST_NPoints({n}) "
        "AND GeometryType({o}) = GeometryType({n}) "
        "AND ST_HausdorffDistance({o}, {n}) <= {tol}))"
    ).format(o=old, n=new, tol=sql.Literal(SAME_GEOMETRY_DEGREES))


def differs(columns: list[str], old: str, new: str, geometry: bool) -> sql.Composable:
    """True where the staged row changes the stored one (what an upsert must write)."""
    parts = []
    if columns:
        parts.append(
            sql.SQL("({}) IS DISTINCT FROM ({})").format(
                sql.SQL(", ").join(col(c, old) for c in columns),
                sql.SQL(", ").join(col(c, new) for c in columns),
            )
        )
    if geometry:
        parts.append(geometry_moved(col("geom", old), col("geom", new)))
    return sql.SQL(" OR ").join(parts) if parts else sql.SQL("false")


def upsert(cur: cursor, profile: ImportProfile, columns: list[Column], staged: int) -> LoadCounts:
    """INSERT … ON CONFLICT (code) DO UPDATE only where something differs; count each outcome."""
    names = [c.name for c in columns]
    geometry = profile.geometry is not None
    target = sql.Identifier(profile.table)
    insert_cols = [col(n) for n in names] + ([col("geom")] if geometry else [])
    select = [value(c, "s") for c in columns] + ([col("geom", "s")] if geometry else [])
    if profile.derived_area:
        insert_cols.append(col("area_km2"))
        select.append(area("s"))
    updates = [sql.SQL("{} = EXCLUDED.{}").format(col(n), col(n)) for n in names if n != "code"]
    if geometry:
        updates.append(sql.SQL("geom = EXCLUDED.geom"))
    if profile.derived_area:
        updates.append(sql.SQL("area_km2 = EXCLUDED.area_km2"))
    updates.append(sql.SQL("updated_at = now()"))
    query = sql.SQL(
        "INSERT INTO {t} AS t ({cols}) SELECT {sel} FROM {stage} s ORDER BY s._row "
        "ON CONFLICT (code) DO UPDATE SET {upd} WHERE {differs} RETURNING (xmax = 0)"
    ).format(
        t=target,
        cols=sql.SQL(", ").join(insert_cols),
        sel=sql.SQL(", ").join(select),
        stage=sql.Identifier(STAGE),
        upd=sql.SQL(", ").join(updates),
        differs=differs([n for n in names if n != "code"], "t", "excluded", geometry),
    )
    cur.execute(query)
    flags = [r[0] for r in cur.fetchall()]
    inserted = sum(flags)
    updated = len(flags) - inserted
    return LoadCounts(inserted, updated, staged - inserted - updated)


def upsert_contacts(cur: cursor, contact_fields: list[str]) -> None:
    """Reporter name/phone of staged events into the private event_contacts table."""
    if not contact_fields:
        return
    cols = sql.SQL(", ").join(col(c) for c in contact_fields)
    query = sql.SQL(
        "INSERT INTO event_contacts AS ec (event_code, {cols}) "
        "SELECT code, {cols} FROM {stage} WHERE {any_set} "
        "ON CONFLICT (event_code) DO UPDATE SET {upd} WHERE {differs}"
    ).format(
        cols=cols,
        stage=sql.Identifier(STAGE),
        any_set=sql.SQL(" OR ").join(
            sql.SQL("{} IS NOT NULL").format(col(c)) for c in contact_fields
        ),
        upd=sql.SQL(", ").join(
            sql.SQL("{} = EXCLUDED.{}").format(col(c), col(c)) for c in contact_fields
        ),
        differs=differs(contact_fields, "ec", "excluded", False),
    )
    cur.execute(query)
