"""SQL for features, assembled from small builders (after tipg's collections.py).

`select_feature/from_table/where/order_by` return psycopg.sql pieces; names go
through `gis_server.database.ident`, values through named placeholders
collected in a `Binds`. Features come out of PostGIS as GeoJSON text
(json_build_object + ST_AsGeoJSON), so Python never rebuilds them: a fast route
can stream the very same SQL without pygeoapi. The request comes in as the
`ItemsQuery` the front check built, never as text.
"""

from __future__ import annotations

from collections.abc import Mapping

from psycopg import sql

from gis_server.auth.district_scope import DISTRICT_COLUMN
from gis_server.database import ident
from gis_server.ogc.crs import Crs
from gis_server.ogc.params import TimeRange
from gis_server.ogc.query import ItemsQuery
from gis_server.ogc.source import Source

_MAX_JSON_ARGS = 50  # json_build_object takes at most 100 arguments


class Binds:
    """Values bound to named placeholders, so builders may run in any order."""

    def __init__(self, values: Mapping[str, object] | None = None) -> None:
        self.values: dict[str, object] = dict(values) if values else {}

    def __call__(self, value: object) -> sql.Placeholder:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return sql.Placeholder(name)


def query_binds(q: ItemsQuery) -> Binds:
    """The Binds of a statement of `q`: its compiled filter's values already bound."""
    return Binds(q.filter.values if q.filter is not None else None)


def geometry_expr(source: Source, crs: Crs) -> sql.Composable:
    """The geometry column in the output CRS: ST_Transform by integer SRID, flipped if lat-first."""
    geom: sql.Composable = ident(source.geometry_column)
    if source.srid != crs.srid:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(crs.srid))
    if crs.lat_first:
        geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
    return geom


def _properties(columns: list[str]) -> sql.Composable:
    if not columns:
        return sql.SQL("'{}'::json")
    chunks = [columns[i : i + _MAX_JSON_ARGS] for i in range(0, len(columns), _MAX_JSON_ARGS)]
    built = [
        sql.SQL("jsonb_build_object({})" if len(chunks) > 1 else "json_build_object({})").format(
            sql.SQL(", ").join(sql.SQL("{}, {}").format(sql.Literal(c), ident(c)) for c in chunk)
        )
        for chunk in chunks
    ]
    return sql.SQL(" || ").join(built)


def select_feature(
    source: Source,
    crs: Crs,
    select: tuple[str, ...] | None = None,
    skip_geometry: bool = False,
) -> sql.Composable:
    """One GeoJSON Feature per row, as text (`select`: the properties kept, None for all)."""
    columns = list(select) if select is not None else list(source.names)
    geometry = (
        sql.SQL("NULL")
        if skip_geometry
        # options 0: no "crs" member in the geometry (RFC 7946); Content-Crs says it.
        else sql.SQL("ST_AsGeoJSON({}, 9, 0)::json").format(geometry_expr(source, crs))
    )
    return sql.SQL(
        "SELECT json_build_object('type', 'Feature', 'id', {id}, 'geometry', {geom}, "
        "'properties', {props})::text"
    ).format(id=ident(source.id_column), geom=geometry, props=_properties(columns))


def relation(source: Source) -> sql.Composable:
    """The table, or — with derived properties — the table with them as columns (a plain
    projection PostgreSQL flattens, so the table's indexes still serve), under its name."""
    if not source.derived:
        return ident(source.table)
    extra = sql.SQL("").join(
        sql.SQL(", ({}) AS {}").format(sql.SQL(expr), ident(name)) for name, expr in source.derived
    )
    name = ident(source.table.rpartition(".")[2])
    return sql.SQL("(SELECT *{} FROM {}) AS {}").format(extra, ident(source.table), name)


def from_table(source: Source) -> sql.Composable:
    return sql.SQL(" FROM {}").format(relation(source))


def _time(source: Source, time: TimeRange, binds: Binds) -> list[sql.Composable]:
    """Instant layers: time_start in the range. Interval layers: [start, end) overlaps it."""
    start = ident(source.time_start)  # type: ignore[arg-type]
    conds: list[sql.Composable] = []
    if source.time_end is None:
        if time.lo is not None:
            conds.append(sql.SQL("{} >= {}").format(start, binds(time.lo)))
        if time.hi is not None:
            op = "<=" if time.hi_inclusive else "<"
            conds.append(sql.SQL("{} " + op + " {}").format(start, binds(time.hi)))
        return conds
    end = ident(source.time_end)
    if time.hi is not None:
        op = "<=" if time.hi_inclusive else "<"
        conds.append(sql.SQL("{} " + op + " {}").format(start, binds(time.hi)))
    if time.lo is not None:
        conds.append(sql.SQL("({0} IS NULL OR {0} > {1})").format(end, binds(time.lo)))
    return conds


def bbox_expr(source: Source, bbox: tuple[float, ...], binds: Binds) -> sql.Composable:
    env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(*(binds(v) for v in bbox))
    if source.srid != 4326:
        env = sql.SQL("ST_Transform({}, {})").format(env, sql.Literal(source.srid))
    return sql.SQL("ST_Intersects({}, {})").format(ident(source.geometry_column), env)


def where(
    source: Source, q: ItemsQuery, binds: Binds, after: sql.Composable | None = None
) -> sql.Composable:
    """The request's conditions (`after`: the keyset bound of a cursor page, keyset.after)."""
    conds: list[sql.Composable] = []
    if q.time is not None and source.temporal:
        conds.extend(_time(source, q.time, binds))
    elif q.time is None and source.current_filter:
        conds.append(sql.SQL("(" + source.current_filter + ")"))
    if q.bbox is not None:
        conds.append(bbox_expr(source, q.bbox, binds))
    for column, value in q.equals:
        conds.append(sql.SQL("{} = {}").format(ident(column.name), binds(value)))
    if q.district is not None:
        conds.append(district_condition(q.district, binds))
    if q.filter is not None:
        conds.append(sql.SQL("({})").format(q.filter.condition))
    if after is not None:
        conds.append(after)
    if not conds:
        return sql.SQL("")
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds)


def district_condition(district: str, binds: Binds) -> sql.Composable:
    """A district-scoped reader's rows only (auth/district_scope.py decides who is scoped)."""
    return sql.SQL("{} = {}").format(ident(DISTRICT_COLUMN), binds(district))


def order_keys(source: Source, sortby: tuple[tuple[str, bool], ...]) -> list[tuple[str, bool]]:
    """Requested keys, then the unique order key: every page boundary is deterministic."""
    keys = list(sortby)
    if not keys and source.default_sort:
        keys.append((source.default_sort, True))
    named = {name for name, _ in keys}
    keys += [(k, True) for k in source.order_key if k not in named]
    return keys


def order_by(keys: list[tuple[str, bool]]) -> sql.Composable:
    return sql.SQL(" ORDER BY ") + sql.SQL(", ").join(
        sql.SQL("{} {}").format(ident(name), sql.SQL("ASC" if asc else "DESC NULLS LAST"))
        for name, asc in keys
    )


def features_sql(source: Source, q: ItemsQuery, binds: Binds) -> sql.Composable:
    """One row per feature (GeoJSON text), in a stable order, one page."""
    return sql.Composed(
        [
            select_feature(source, q.crs, q.select, q.skip_geometry),
            from_table(source),
            where(source, q, binds),
            order_by(order_keys(source, q.sortby)),
            sql.SQL(" LIMIT {} OFFSET {}").format(binds(q.limit), binds(q.offset)),
        ]
    )


def count_sql(source: Source, q: ItemsQuery, binds: Binds) -> sql.Composable:
    return sql.Composed([sql.SQL("SELECT count(*)"), from_table(source), where(source, q, binds)])


def item_sql(
    source: Source,
    identifier: object,
    crs: Crs,
    binds: Binds,
    extra: sql.Composable | None = None,
    time: TimeRange | None = None,
    district: str | None = None,
) -> sql.Composable:
    """One feature by id (`district`: a scoped reader's, outside it no row, so 404).

    Versioned layers (with a `current_filter`): without `time` only the current
    version — a code with no open version (deleted, merged away) has no row, so
    the route answers 404; with `time`, the latest version in force then. Other
    layers: the row (the latest by time if the id repeats).
    """
    conds = [sql.SQL("{} = {}").format(ident(source.id_column), binds(identifier))]
    if time is not None and source.temporal:
        conds.extend(_time(source, time, binds))
    elif source.current_filter:
        conds.append(sql.SQL("(" + source.current_filter + ")"))
    if district is not None:
        conds.append(district_condition(district, binds))
    order = (
        sql.SQL(" ORDER BY {} DESC").format(ident(source.time_start))
        if source.time_start
        else sql.SQL("")
    )
    return sql.Composed(
        [
            select_feature(source, crs),
            sql.SQL(", {}").format(extra) if extra is not None else sql.SQL(""),
            from_table(source),
            sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds),
            order,
            sql.SQL(" LIMIT 1"),
        ]
    )
