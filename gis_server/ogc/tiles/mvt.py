"""One MVT tile of one collection as a single PostGIS statement (ST_AsMVT).

The statement depends only on the collection, the tile matrix set and the
tile's *kind* (which zoom band it is in); the tile itself comes in as numbers
bound to named placeholders. So a statement is composed once per kind, kept as
bytes, and prepared once per connection: a tile request only computes its
envelope and binds it (composing the SQL for every tile cost more Python time
than PostGIS spent building a small tile).

The tile's lon/lat envelope (exact: both quads are axis-separable) meets the
storage GiST index with `&&`. Web Mercator tiles then read the layer's stored
EPSG:3857 copy (`Source.mercator_column`, a generated column) where it has one;
otherwise geometries are transformed by integer SRID, only after the index
filter. Zoom decides the detail:
- points up to `cluster_max_zoom` (higher on bigger layers) are grouped on a grid of `CLUSTER_CELLS`²
  cells into one point per cell with a `count` (cells are half-open, so the
  counts of all tiles of a zoom add up to the layer) and the commonest value
  of the style property (`cluster_property`), so a map colours clusters as it
  colours points;
- lines and polygons are simplified by half a tile unit before clipping below
  `DETAIL_ZOOM` (above it, simplifying costs more than transforming the few vertices);
- below `DETAIL_ZOOM` features carry only id, name and the style property.
"""

from __future__ import annotations

import datetime as dt
import enum
import math
from dataclasses import dataclass

from psycopg import sql

from gis_server.database import ident
from gis_server.ogc.params import TimeRange
from gis_server.ogc.source import Source
from gis_server.ogc.sql import relation
from gis_server.ogc.tiles.tms import TileMatrixSet

MVT_TYPE = "application/vnd.mapbox-vector-tile"
EXTENT = 4096
BUFFER = 64
DETAIL_ZOOM = 12
# Points are clustered at z <= the zoom of the first row bound the layer fits under:
# a district's 20,000 cameras show one by one from z12, 300,000 events from z14.
CLUSTER_MAX_ZOOM = ((50_000, 11), (1_000_000, 13))
CLUSTER_MAX_ZOOM_HUGE = 14
CLUSTER_CELLS = 64  # cells per tile side (64 MVT units each)
_R = 6378137.0
_M_PER_DEG = math.pi * _R / 180.0


class TileKind(enum.Enum):
    """The zoom bands that need different SQL (everything else is a bound number)."""

    CLUSTERS = "clusters"  # points grouped per cell, with a count
    OVERVIEW = "overview"  # simplified shapes, light attributes (below DETAIL_ZOOM)
    DETAIL = "detail"  # every public attribute


@dataclass(frozen=True)
class TileLayer:
    """What a tile needs to know about a collection beyond its Source."""

    source: Source
    points: bool
    light_columns: tuple[str, ...]  # properties kept below DETAIL_ZOOM
    rows: float  # row estimate (pg_class.reltuples)
    cluster_property: str | None = None  # clusters carry its commonest value (the style's)

    @property
    def cluster_max_zoom(self) -> int:
        return next((z for rows, z in CLUSTER_MAX_ZOOM if self.rows <= rows), CLUSTER_MAX_ZOOM_HUGE)

    def kind(self, z: int) -> TileKind:
        if self.points and z <= self.cluster_max_zoom:
            return TileKind.CLUSTERS
        return TileKind.DETAIL if z >= DETAIL_ZOOM else TileKind.OVERVIEW


def _lonlat(tms: TileMatrixSet, x: float, y: float) -> tuple[float, float]:
    if tms.srid == 4326:
        return x, y
    lon = math.degrees(x / _R)
    lat = math.degrees(2 * math.atan(math.exp(y / _R)) - math.pi / 2)
    return lon, lat


def lonlat_envelope(
    tms: TileMatrixSet, z: int, row: int, col: int, margin: float = 0.0
) -> tuple[float, float, float, float]:
    """The tile (grown by `margin` tile units of EXTENT) as lon/lat degrees."""
    x0, y0, x1, y1 = tms.envelope(z, row, col)
    m = (x1 - x0) * margin / EXTENT
    lon0, lat0 = _lonlat(tms, x0 - m, y0 - m)
    lon1, lat1 = _lonlat(tms, x1 + m, y1 + m)
    return lon0, max(lat0, -90.0), lon1, min(lat1, 90.0)


def tile_values(
    layer: TileLayer, tms: TileMatrixSet, z: int, row: int, col: int
) -> dict[str, float]:
    """The numbers one tile binds into its kind's statement (see `tile_statement`)."""
    kind = layer.kind(z)
    x0, y0, x1, y1 = tms.envelope(z, row, col)
    margin = 1 if kind is TileKind.CLUSTERS else BUFFER  # clusters: exact half-open test in SQL
    lon0, lat0, lon1, lat1 = lonlat_envelope(tms, z, row, col, margin)
    values = {"x0": x0, "y0": y0, "x1": x1, "y1": y1,
              "lon0": lon0, "lat0": lat0, "lon1": lon1, "lat1": lat1}  # fmt: skip
    if kind is TileKind.CLUSTERS:
        values["cell"] = (x1 - x0) / CLUSTER_CELLS
    elif kind is TileKind.OVERVIEW:
        tolerance = (x1 - x0) / EXTENT / 2  # half a tile unit
        stored = stored_in(layer.source, tms.srid)  # else: simplified in degrees, then transformed
        values["tolerance"] = tolerance if stored or tms.srid != 3857 else tolerance / _M_PER_DEG
    return values


def tile_statement(
    layer: TileLayer,
    tms: TileMatrixSet,
    kind: TileKind,
    timed: bool = False,
    condition: sql.Composable | None = None,
) -> sql.Composable:
    """SELECT ST_AsMVT(...) for every tile of `kind` (bytea, empty when no feature touches it).

    Placeholders: %(x0)s %(y0)s %(x1)s %(y1)s (the tile in the quad's units),
    %(lon0)s … %(lat1)s (the index box in degrees), and %(cell)s (clusters) or
    %(tolerance)s (overview): `tile_values` gives them for one tile. A `timed`
    statement (temporal layers only) also takes %(t0)s and %(t1)s, the half-open
    time window [t0, t1) (`time_window`), in place of the layer's current filter.
    `condition` (a compiled CQL2 filter, its own placeholders p0, p1, …) is ANDed on.
    """
    if kind is TileKind.CLUSTERS:
        return _cluster_sql(layer, tms, timed, condition)
    return _features_sql(layer, tms, kind, timed, condition)


# open ends of a time window, as timestamps PostgreSQL and Python both represent
TIME_MIN = dt.datetime(1, 1, 1, tzinfo=dt.UTC)
TIME_MAX = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)


def time_window(time: TimeRange) -> dict[str, dt.datetime]:
    """A datetime parameter as the half-open window [t0, t1) the timed statements bind
    (an inclusive end moves up by the microsecond that timestamps resolve)."""
    t1 = TIME_MAX
    if time.hi is not None:
        t1 = time.hi + dt.timedelta(microseconds=1) if time.hi_inclusive else time.hi
    return {"t0": time.lo or TIME_MIN, "t1": t1}


_X0, _Y0, _X1, _Y1 = (sql.Placeholder(n) for n in ("x0", "y0", "x1", "y1"))
_BOX2D = sql.SQL("ST_MakeBox2D(ST_Point({}, {}), ST_Point({}, {}))").format(_X0, _Y0, _X1, _Y1)


def _where(src: Source, timed: bool, condition: sql.Composable | None) -> sql.Composable:
    env: sql.Composable = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
        *(sql.Placeholder(n) for n in ("lon0", "lat0", "lon1", "lat1"))
    )
    if src.srid != 4326:
        env = sql.SQL("ST_Transform({}, {})").format(env, sql.Literal(src.srid))
    conds = [sql.SQL("{} && {}").format(ident(src.geometry_column), env)]
    if timed and src.time_start:  # the features of the window (grids: the layout then)
        conds += _time_conditions(src)
    elif src.current_filter:
        conds.append(sql.SQL("(" + src.current_filter + ")"))
    if condition is not None:
        conds.append(sql.SQL("({})").format(condition))
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds)


def _time_conditions(src: Source) -> list[sql.Composable]:
    """Instants in [t0, t1); intervals [start, end) that overlap it (as the items' datetime)."""
    start, t0, t1 = ident(src.time_start), sql.Placeholder("t0"), sql.Placeholder("t1")
    if src.time_end is None:
        return [sql.SQL("{} >= {}").format(start, t0), sql.SQL("{} < {}").format(start, t1)]
    end = ident(src.time_end)
    return [
        sql.SQL("{} < {}").format(start, t1),
        sql.SQL("({0} IS NULL OR {0} > {1})").format(end, t0),
    ]


def stored_in(src: Source, srid: int) -> bool:
    """The layer's geometry is stored in `srid` (as such, or as its Web Mercator copy)."""
    return src.srid == srid or (srid == 3857 and src.mercator_column is not None)


def _geom_in(src: Source, srid: int) -> sql.Composable:
    if srid == 3857 and src.mercator_column is not None and src.srid != 3857:
        return ident(src.mercator_column)  # transformed once, when the row was written
    geom: sql.Composable = ident(src.geometry_column)
    if src.srid != srid:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(srid))
    return geom


def _features_sql(
    layer: TileLayer,
    tms: TileMatrixSet,
    kind: TileKind,
    timed: bool,
    condition: sql.Composable | None,
) -> sql.Composable:
    src = layer.source
    geom = _geom_in(src, tms.srid)
    if not layer.points and kind is TileKind.OVERVIEW:  # from z12 ST_AsMVTGeom's snapping is enough
        tolerance = sql.Placeholder("tolerance")
        if stored_in(src, tms.srid):
            geom = sql.SQL("ST_Simplify({}, {}, true)").format(geom, tolerance)
        else:  # simplify in storage units (degrees) before the transform: cheaper
            geom = sql.SQL("ST_Transform(ST_Simplify({}, {}, true), {})").format(
                ident(src.geometry_column), tolerance, sql.Literal(tms.srid)
            )
    columns = list(src.names) if kind is TileKind.DETAIL else list(layer.light_columns)
    props = [ident(c) for c in columns]
    inner = sql.SQL(
        "SELECT ST_AsMVTGeom({geom}, {env}, {extent}, {buffer}, true) AS mvt_geom{props} "
        "FROM {table}{where} OFFSET 0"  # a fence: `mvt_geom IS NOT NULL` is not pushed into
    ).format(  # the scan, where it would compute ST_AsMVTGeom a second time per row
        geom=geom,
        env=_BOX2D,
        extent=sql.Literal(EXTENT),
        buffer=sql.Literal(BUFFER),
        props=sql.SQL("").join(sql.SQL(", ") + p for p in props),
        table=relation(src),
        where=_where(src, timed, condition),
    )
    return sql.SQL(
        "SELECT ST_AsMVT(t, {name}, {extent}, 'mvt_geom') FROM ({inner}) t "
        "WHERE mvt_geom IS NOT NULL"
    ).format(name=sql.Literal(src.id), extent=sql.Literal(EXTENT), inner=inner)


def _xy(src: Source, tms: TileMatrixSet) -> tuple[sql.Composable, sql.Composable]:
    """x, y of each point in the quad's units: stored, else by arithmetic (cheaper than
    ST_Transform)."""
    if stored_in(src, tms.srid):
        g = _geom_in(src, tms.srid)
        return sql.SQL("ST_X({})").format(g), sql.SQL("ST_Y({})").format(g)
    g = _geom_in(src, 4326)
    if tms.srid == 4326:
        return sql.SQL("ST_X({})").format(g), sql.SQL("ST_Y({})").format(g)
    x = sql.SQL("ST_X({}) * {}").format(g, sql.Literal(_M_PER_DEG))
    y = sql.SQL("ln(tan(pi() / 4 + radians(least(greatest(ST_Y({}), -85.06), 85.06)) / 2)) * {}")
    return x, y.format(g, sql.Literal(_R))


def _cluster_sql(
    layer: TileLayer, tms: TileMatrixSet, timed: bool, condition: sql.Composable | None
) -> sql.Composable:
    src = layer.source
    x, y = _xy(src, tms)
    prop = layer.cluster_property
    inner_v = sql.SQL(", {} AS v").format(ident(prop)) if prop else sql.SQL("")
    mode = sql.SQL(", mode() WITHIN GROUP (ORDER BY v) AS v") if prop else sql.SQL("")
    outer_v = sql.SQL(", v AS {}").format(ident(prop)) if prop else sql.SQL("")
    return sql.SQL(
        "SELECT ST_AsMVT(m, {name}, {extent}, 'mvt_geom') FROM ("
        "SELECT count{outer_v}, ST_AsMVTGeom(ST_Point(x, y), {env}, {extent}, 0, false) AS mvt_geom "
        "FROM (SELECT count(*)::int AS count, avg(x) AS x, avg(y) AS y{mode} FROM ("
        "SELECT {x} AS x, {y} AS y{inner_v} FROM {table}{where}) p "
        "WHERE x >= {bx0} AND x < {bx1} AND y > {by0} AND y <= {by1} "
        "GROUP BY floor((x - {bx0}) / {cell}), floor((y - {by0}) / {cell})) c OFFSET 0) m "
        "WHERE mvt_geom IS NOT NULL"
    ).format(
        name=sql.Literal(src.id),
        extent=sql.Literal(EXTENT),
        env=_BOX2D,
        x=x,
        y=y,
        inner_v=inner_v,
        mode=mode,
        outer_v=outer_v,
        table=relation(src),
        where=_where(src, timed, condition),
        bx0=_X0,
        bx1=_X1,
        by0=_Y0,
        by1=_Y1,
        cell=sql.Placeholder("cell"),
    )
