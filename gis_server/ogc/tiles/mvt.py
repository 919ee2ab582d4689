"""One MVT tile of one collection as a single PostGIS statement (ST_AsMVT).

The tile's lon/lat envelope (exact: both quads are axis-separable) is bound as
numbers and meets the storage GiST index with `&&`; geometries are transformed
by integer SRID only after that. Zoom decides the detail:
- points up to `cluster_max_zoom` (higher on bigger layers) are grouped on a grid of `CLUSTER_CELLS`²
  cells into one point per cell with a `count` (cells are half-open, so the
  counts of all tiles of a zoom add up to the layer);
- lines and polygons are simplified by half a tile unit before clipping below
  `DETAIL_ZOOM` (above it, simplifying costs more than transforming the few vertices);
- below `DETAIL_ZOOM` features carry only id, name and the style property.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from psycopg2 import sql

from gis_server.database import ident
from gis_server.ogc.source import Source
from gis_server.ogc.sql import Binds
from gis_server.ogc.tiles.tms import TileMatrixSet

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


@dataclass(frozen=True)
class TileLayer:
    """What a tile needs to know about a collection beyond its Source."""

    source: Source
    points: bool
    light_columns: tuple[str, ...]  # properties kept below DETAIL_ZOOM
    rows: float  # row estimate (pg_class.reltuples)

    @property
    def cluster_max_zoom(self) -> int:
        return next((z for rows, z in CLUSTER_MAX_ZOOM if self.rows <= rows), CLUSTER_MAX_ZOOM_HUGE)


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


def _index_filter(src: Source, box: tuple[float, ...], binds: Binds) -> sql.Composable:
    env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(*(binds(v) for v in box))
    if src.srid != 4326:
        env = sql.SQL("ST_Transform({}, {})").format(env, sql.Literal(src.srid))
    return sql.SQL("{} && {}").format(ident(src.geometry_column), env)


def _where(src: Source, box: tuple[float, ...], binds: Binds) -> sql.Composable:
    conds = [_index_filter(src, box, binds)]
    if src.current_filter:
        conds.append(sql.SQL("(" + src.current_filter + ")"))
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conds)


def _geom_in(src: Source, srid: int) -> sql.Composable:
    geom: sql.Composable = ident(src.geometry_column)
    if src.srid != srid:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(srid))
    return geom


def tile_sql(layer: TileLayer, tms: TileMatrixSet, z: int, row: int, col: int, binds: Binds):
    """SELECT ST_AsMVT(...) for one tile (bytea, empty when no feature touches it)."""
    if layer.points and z <= layer.cluster_max_zoom:
        return _cluster_sql(layer, tms, z, row, col, binds)
    return _features_sql(layer, tms, z, row, col, binds)


def _box2d(tms: TileMatrixSet, z: int, row: int, col: int, binds: Binds) -> sql.Composable:
    x0, y0, x1, y1 = tms.envelope(z, row, col)
    return sql.SQL("ST_MakeBox2D(ST_Point({}, {}), ST_Point({}, {}))").format(
        binds(x0), binds(y0), binds(x1), binds(y1)
    )


def _features_sql(
    layer: TileLayer, tms: TileMatrixSet, z: int, row: int, col: int, binds: Binds
) -> sql.Composable:
    src = layer.source
    geom = _geom_in(src, tms.srid)
    if not layer.points and z < DETAIL_ZOOM:  # from z12 ST_AsMVTGeom's own snapping is enough
        w, _ = tms.tile_span(z)
        tolerance = w / EXTENT / 2
        if src.srid == tms.srid:
            geom = sql.SQL("ST_Simplify({}, {}, true)").format(geom, binds(tolerance))
        else:  # simplify in storage units (degrees) before the transform: cheaper
            deg = tolerance / _M_PER_DEG if tms.srid == 3857 else tolerance
            geom = sql.SQL("ST_Transform(ST_Simplify({}, {}, true), {})").format(
                ident(src.geometry_column), binds(deg), sql.Literal(tms.srid)
            )
    columns = list(src.names) if z >= DETAIL_ZOOM else list(layer.light_columns)
    props = [ident(c) for c in columns]
    box = lonlat_envelope(tms, z, row, col, BUFFER)
    inner = sql.SQL(
        "SELECT ST_AsMVTGeom({geom}, {env}, {extent}, {buffer}, true) AS mvt_geom{props} "
        "FROM {table}{where} OFFSET 0"  # a fence: `mvt_geom IS NOT NULL` is not pushed into
    ).format(  # the scan, where it would compute ST_AsMVTGeom a second time per row
        geom=geom,
        env=_box2d(tms, z, row, col, binds),
        extent=sql.Literal(EXTENT),
        buffer=sql.Literal(BUFFER),
        props=sql.SQL("").join(sql.SQL(", ") + p for p in props),
        table=ident(src.table),
        where=_where(src, box, binds),
    )
    return sql.SQL(
        "SELECT ST_AsMVT(t, {name}, {extent}, 'mvt_geom') FROM ({inner}) t "
        "WHERE mvt_geom IS NOT NULL"
    ).format(name=sql.Literal(src.id), extent=sql.Literal(EXTENT), inner=inner)


def _xy(src: Source, tms: TileMatrixSet) -> tuple[sql.Composable, sql.Composable]:
    """x, y of each point in the quad's units, by arithmetic (cheaper than ST_Transform)."""
    g = _geom_in(src, 4326)
    if tms.srid == 4326:
        return sql.SQL("ST_X({})").format(g), sql.SQL("ST_Y({})").format(g)
    x = sql.SQL("ST_X({}) * {}").format(g, sql.Literal(_M_PER_DEG))
    y = sql.SQL("ln(tan(pi() / 4 + radians(least(greatest(ST_Y({}), -85.06), 85.06)) / 2)) * {}")
    return x, y.format(g, sql.Literal(_R))


def _cluster_sql(
    layer: TileLayer, tms: TileMatrixSet, z: int, row: int, col: int, binds: Binds
) -> sql.Composable:
    src = layer.source
    x0, y0, x1, y1 = tms.envelope(z, row, col)
    cell = (x1 - x0) / CLUSTER_CELLS
    x, y = _xy(src, tms)
    box = lonlat_envelope(tms, z, row, col, 1)  # the exact half-open test is below
    bx0, by0, bx1, by1, bcell = (binds(v) for v in (x0, y0, x1, y1, cell))
    return sql.SQL(
        "SELECT ST_AsMVT(m, {name}, {extent}, 'mvt_geom') FROM ("
        "SELECT count, ST_AsMVTGeom(ST_Point(x, y), {env}, {extent}, 0, false) AS mvt_geom "
        "FROM (SELECT count(*)::int AS count, avg(x) AS x, avg(y) AS y FROM ("
        "SELECT {x} AS x, {y} AS y FROM {table}{where}) p "
        "WHERE x >= {bx0} AND x < {bx1} AND y > {by0} AND y <= {by1} "
        "GROUP BY floor((x - {bx0}) / {cell}), floor((y - {by0}) / {cell})) c OFFSET 0) m "
        "WHERE mvt_geom IS NOT NULL"
    ).format(
        name=sql.Literal(src.id),
        extent=sql.Literal(EXTENT),
        env=_box2d(tms, z, row, col, binds),
        x=x,
        y=y,
        table=ident(src.table),
        where=_where(src, box, binds),
        bx0=bx0,
        bx1=bx1,
        by0=by0,
        by1=by1,
        cell=bcell,
    )
