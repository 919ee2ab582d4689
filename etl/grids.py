"""Versioned load of grids: a grid is never overwritten.

An import that changes a grid closes its current version (valid_to = now())
and opens version + 1 from the same instant; unchanged grids are left alone.
Columns the file does not carry are copied forward from the closed version.
"""

from __future__ import annotations

from psycopg2 import sql
from psycopg2.extensions import cursor

from etl.catalog import Column
from etl.load import STAGE, LoadCounts, area, col, differs, value
from etl.validate import Reject
from layers.grid_edits import WRITABLE

CLASSIFIED = "_onemap_grid_changes"
# The attributes a new grid version carries over: the same ones an editor may set.
CARRIED = WRITABLE


def check_grid_topology(cur: cursor, stage_table: str) -> list[Reject]:
    """The grid topology rules (layers/topology.py) applied to the staged layout:
    overlaps between grids of one type, gaps, grids crossing their town. One Reject
    per offending staged row (`_row`, code, reason); any reject fails the import as
    a whole unless --allow-rejects. Runs after staging, before any grid row changes."""
    from layers.topology import check_staged

    return [
        Reject(row or 0, v.code or v.other, f"{v.kind}: {v.message}")
        for row, v in check_staged(cur, stage_table)
    ]


def upsert_grids(cur: cursor, columns: list[Column], staged: int) -> LoadCounts:
    """Close changed current versions and insert new versions; count new/changed/same."""
    names = [c.name for c in columns if c.name != "code"]
    cur.execute(
        sql.SQL(
            "CREATE TEMP TABLE {cls} ON COMMIT DROP AS "
            "SELECT s._row, s.code, c.gid AS cur_gid, "
            "  coalesce(c.version, (SELECT max(version) FROM grids h WHERE h.code = s.code), 0) "
            "    AS prev_version, "
            "  CASE WHEN c.gid IS NULL THEN 'new' WHEN {differs} THEN 'changed' ELSE 'same' END "
            "    AS state "
            "FROM {stage} s LEFT JOIN grids c ON c.code = s.code AND c.valid_to IS NULL"
        ).format(
            cls=sql.Identifier(CLASSIFIED),
            stage=sql.Identifier(STAGE),
            differs=differs(names, "c", "s", True),
        )
    )
    cur.execute(
        sql.SQL(
            "UPDATE grids g SET valid_to = now(), updated_at = now() FROM {cls} k "
            "WHERE g.gid = k.cur_gid AND k.state = 'changed'"
        ).format(cls=sql.Identifier(CLASSIFIED))
    )
    given = {c.name: c for c in columns}
    insert_cols = ["code", *names] + [c for c in CARRIED if c not in given]
    select = [col("code", "s")] + [value(given[n], "s") for n in names]
    select += [col(c, "c") for c in CARRIED if c not in given]
    cur.execute(
        sql.SQL(
            "INSERT INTO grids ({cols}, version, valid_from, geom, area_km2) "
            "SELECT {sel}, k.prev_version + 1, now(), s.geom, {area} "
            "FROM {stage} s JOIN {cls} k USING (_row) LEFT JOIN grids c ON c.gid = k.cur_gid "
            "WHERE k.state <> 'same' ORDER BY s._row"
        ).format(
            cols=sql.SQL(", ").join(col(c) for c in insert_cols),
            sel=sql.SQL(", ").join(select),
            area=area("s"),
            stage=sql.Identifier(STAGE),
            cls=sql.Identifier(CLASSIFIED),
        )
    )
    cur.execute(
        sql.SQL("SELECT state, count(*) FROM {cls} GROUP BY state").format(
            cls=sql.Identifier(CLASSIFIED)
        )
    )
    by_state = dict(cur.fetchall())
    return LoadCounts(by_state.get("new", 0), by_state.get("changed", 0), by_state.get("same", 0))
