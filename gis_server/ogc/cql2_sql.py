"""Translate a pygeofilter AST into a psycopg.sql condition with bound values.

Not pygeofilter's sql backend: that one builds SQL text from values. Here every
literal goes through `Binds`, every name through `ident`, and only the
collection's public properties (plus its id and geometry) can be named —
anything else is a 400 naming the property.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable

from psycopg import sql
from pygeofilter import ast, values

from gis_server.database import ident
from gis_server.errors import InvalidParameter
from gis_server.ogc import geometry_literal
from gis_server.ogc.crs import CRS84, SUPPORTED, Crs
from gis_server.ogc.source import Source
from gis_server.ogc.sql import Binds

_COMPARE = {
    ast.ComparisonOp.EQ: "=",
    ast.ComparisonOp.NE: "<>",
    ast.ComparisonOp.LT: "<",
    ast.ComparisonOp.LE: "<=",
    ast.ComparisonOp.GT: ">",
    ast.ComparisonOp.GE: ">=",
}

_SPATIAL = {
    ast.SpatialComparisonOp.INTERSECTS: "ST_Intersects",
    ast.SpatialComparisonOp.DISJOINT: "ST_Disjoint",
    ast.SpatialComparisonOp.CONTAINS: "ST_Contains",
    ast.SpatialComparisonOp.WITHIN: "ST_Within",
    ast.SpatialComparisonOp.TOUCHES: "ST_Touches",
    ast.SpatialComparisonOp.CROSSES: "ST_Crosses",
    ast.SpatialComparisonOp.OVERLAPS: "ST_Overlaps",
    ast.SpatialComparisonOp.EQUALS: "ST_Equals",
}

# Allen relations on (start, end) pairs; instants are (t, t). CQL2 §7.
_T = ast.TemporalComparisonOp
_TEMPORAL: dict[ast.TemporalComparisonOp, str] = {
    _T.BEFORE: "{e1} < {s2}",
    _T.AFTER: "{s1} > {e2}",
    _T.MEETS: "{e1} = {s2}",
    _T.METBY: "{s1} = {e2}",
    _T.TOVERLAPS: "({s1} < {s2} AND {e1} > {s2} AND {e1} < {e2})",
    _T.OVERLAPPEDBY: "({s1} > {s2} AND {s1} < {e2} AND {e1} > {e2})",
    _T.BEGINS: "({s1} = {s2} AND {e1} < {e2})",
    _T.BEGUNBY: "({s1} = {s2} AND {e1} > {e2})",
    _T.DURING: "({s1} > {s2} AND {e1} < {e2})",
    _T.TCONTAINS: "({s1} < {s2} AND {e1} > {e2})",
    _T.ENDS: "({s1} > {s2} AND {e1} = {e2})",
    _T.ENDEDBY: "({s1} < {s2} AND {e1} = {e2})",
    _T.TEQUALS: "({s1} = {s2} AND {e1} = {e2})",
    _T.DISJOINT: "({s1} > {e2} OR {e1} < {s2})",
    _T.BEFORE_OR_DURING: "{s1} < {e2}",
    _T.DURING_OR_AFTER: "{e1} > {s2}",
}

_METRES = {
    "m": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "km": 1000.0,
    "kilometer": 1000.0,
    "kilometers": 1000.0,
    "kilometre": 1000.0,
    "kilometres": 1000.0,
}

_NEG_INF = sql.SQL("'-infinity'::timestamptz")
_POS_INF = sql.SQL("'infinity'::timestamptz")


def _bad(message: str) -> InvalidParameter:
    return InvalidParameter("filter", message)


class Translator:
    """One filter on one collection; literals are bound into `binds`."""

    def __init__(self, source: Source, binds: Binds, filter_crs: Crs = CRS84):
        self.source = source
        self.binds = binds
        self.filter_crs = filter_crs

    # -- conditions -------------------------------------------------------
    def condition(self, node: object) -> sql.Composable:
        handler = self._conditions().get(type(node))
        if handler is None:
            for cls, fn in self._conditions().items():
                if isinstance(node, cls):
                    handler = fn
                    break
        if handler is None:
            raise _bad(f"unsupported expression {type(node).__name__}")
        return handler(node)

    def _conditions(self) -> dict[type, Callable[[object], sql.Composable]]:
        return {
            ast.And: lambda n: self._chain(n, ast.And, " AND "),
            ast.Or: lambda n: self._chain(n, ast.Or, " OR "),
            ast.Not: lambda n: sql.SQL("(NOT {})").format(self.condition(n.sub_node)),
            ast.Comparison: self._compare,
            ast.Between: self._between,
            ast.Like: self._like,
            ast.In: self._in,
            ast.IsNull: lambda n: sql.SQL("({} IS {}NULL)").format(
                self.expr(n.lhs), sql.SQL("NOT " if n.not_ else "")
            ),
            ast.Include: lambda n: sql.SQL("FALSE" if n.not_ else "TRUE"),
            ast.TemporalPredicate: self._temporal,
            ast.SpatialComparisonPredicate: self._spatial,
            ast.Relate: lambda n: sql.SQL("ST_Relate({}, {}, {})").format(
                self.geometry(n.lhs), self.geometry(n.rhs), self.binds(n.pattern)
            ),
            ast.BBox: lambda n: sql.SQL("ST_Intersects({}, {})").format(
                self.geometry(n.lhs), self._envelope(n.minx, n.miny, n.maxx, n.maxy)
            ),
            ast.SpatialDistancePredicate: self._distance,
            ast.Attribute: lambda n: sql.SQL("({} IS TRUE)").format(self.expr(n)),
        }

    def _chain(self, node: ast.Combination, kind: type, joiner: str) -> sql.Composable:
        """`a OR b OR c …` as one flat list: a chain of hundreds of terms is a binary
        tree hundreds deep, too deep to translate (or compose) recursively."""
        terms, todo = [], [node]
        while todo:
            item = todo.pop()
            if type(item) is kind:
                todo += [item.rhs, item.lhs]  # type: ignore[attr-defined]
            else:
                terms.append(self.condition(item))
        return sql.SQL("({})").format(sql.SQL(joiner).join(terms))

    def _compare(self, node: ast.Comparison) -> sql.Composable:
        self._check_types(node.lhs, node.rhs)
        return sql.SQL("({} {} {})").format(
            self.expr(node.lhs), sql.SQL(_COMPARE[node.op]), self.expr(node.rhs)
        )

    def _between(self, node: ast.Between) -> sql.Composable:
        self._check_types(node.lhs, node.low)
        self._check_types(node.lhs, node.high)
        return sql.SQL("({} {}BETWEEN {} AND {})").format(
            self.expr(node.lhs),
            sql.SQL("NOT " if node.not_ else ""),
            self.expr(node.low),
            self.expr(node.high),
        )

    def _like(self, node: ast.Like) -> sql.Composable:
        if not isinstance(node.pattern, str):
            raise _bad("LIKE needs a string pattern")
        return sql.SQL("(({})::text {}{}LIKE {})").format(
            self.expr(node.lhs),
            sql.SQL("NOT " if node.not_ else ""),
            sql.SQL("I" if node.nocase else ""),
            self.binds(node.pattern),
        )

    def _in(self, node: ast.In) -> sql.Composable:
        for item in node.sub_nodes:
            self._check_types(node.lhs, item)
        return sql.SQL("({} {}IN ({}))").format(
            self.expr(node.lhs),
            sql.SQL("NOT " if node.not_ else ""),
            sql.SQL(", ").join(self.expr(i) for i in node.sub_nodes),
        )

    # -- scalar expressions -----------------------------------------------
    def attribute(self, name: str) -> sql.Composable:
        if name == self.source.id_column or self.source.column(name) is not None:
            return ident(name)
        if name in ("geometry", self.source.geometry_column):
            raise _bad(f"geometry property {name!r} needs a spatial predicate")
        raise _bad(f"unknown property {name!r}; queryables: {', '.join(self.source.names)}")

    def expr(self, node: object) -> sql.Composable:
        if isinstance(node, ast.Attribute):
            return self.attribute(node.name)
        if isinstance(node, bool | int | float | str | dt.date | dt.datetime):
            return self.binds(node)
        if isinstance(node, ast.Arithmetic):
            return sql.SQL("({} {} {})").format(
                self.expr(node.lhs), sql.SQL(node.op.value), self.expr(node.rhs)
            )
        if isinstance(node, ast.Function) and node.name == "lower" and len(node.arguments) == 1:
            return sql.SQL("lower(({})::text)").format(self.expr(node.arguments[0]))
        if isinstance(node, ast.Function):
            raise _bad(f"unsupported function {node.name!r}")
        raise _bad(f"unsupported value {node!r}")

    def _check_types(self, lhs: object, rhs: object) -> None:
        """A string compared with a numeric property is the client's mistake: 400, not a DB error."""
        if isinstance(lhs, ast.Attribute) and isinstance(rhs, str):
            col = self.source.column(lhs.name)
            if col is not None and col.type in ("integer", "number"):
                raise _bad(f"property {lhs.name!r} is {col.type}, compared with {rhs!r}")

    # -- temporal ---------------------------------------------------------
    def _moment(self, node: object, end: bool) -> sql.Composable:
        if node is None:
            return _POS_INF if end else _NEG_INF
        if isinstance(node, ast.Attribute):
            col = self.source.column(node.name)
            if col is None or col.format not in ("date-time", "date"):
                raise _bad(f"{node.name!r} is not a temporal property")
            return sql.SQL("coalesce({}, {})").format(
                ident(node.name), _POS_INF if end else _NEG_INF
            )
        if isinstance(node, dt.datetime):
            return sql.SQL("{}::timestamptz").format(self.binds(node))
        if isinstance(node, dt.date):
            moment = dt.datetime.combine(node, dt.time(), dt.UTC)
            return sql.SQL("{}::timestamptz").format(self.binds(moment))
        raise _bad(f"not a time: {node!r}")

    def _period(self, node: object) -> tuple[sql.Composable, sql.Composable]:
        if isinstance(node, values.Interval):
            return self._moment(node.start, False), self._moment(node.end, True)
        if isinstance(node, ast.Attribute):
            self._moment(node, False)  # validates the name
            return ident(node.name), ident(node.name)
        moment = self._moment(node, False)
        return moment, moment

    def _temporal(self, node: ast.TemporalPredicate) -> sql.Composable:
        s1, e1 = self._period(node.lhs)
        s2, e2 = self._period(node.rhs)
        return sql.SQL(_TEMPORAL[node.op]).format(s1=s1, e1=e1, s2=s2, e2=e2)

    # -- spatial ----------------------------------------------------------
    def _literal_crs(self, geometry: dict) -> Crs:
        crs = geometry.get("crs")
        if crs is None:
            return self.filter_crs
        name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
        if not isinstance(name, str) or not name:
            raise _bad('a geometry\'s "crs" must be {"type": "name", "properties": {"name": …}}')
        code = str(name).rsplit(":", 1)[-1]
        for crs in SUPPORTED:
            if str(crs.srid) == code:
                return crs if crs.srid != 4326 else CRS84
        raise _bad(f"unsupported CRS {name!r} in a geometry literal")

    def _to_storage(self, geom: sql.Composable, crs: Crs) -> sql.Composable:
        if crs.lat_first:
            geom = sql.SQL("ST_FlipCoordinates({})").format(geom)
        if crs.srid != self.source.srid:
            geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(self.source.srid))
        return geom

    def _envelope(self, minx: float, miny: float, maxx: float, maxy: float) -> sql.Composable:
        crs = self.filter_crs
        if crs.lat_first:
            minx, miny, maxx, maxy = miny, minx, maxy, maxx
        geometry_literal.check_box((minx, miny, maxx, maxy), crs)
        env = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
            *(self.binds(float(v)) for v in (minx, miny, maxx, maxy)), sql.Literal(crs.srid)
        )
        if crs.srid != self.source.srid:
            env = sql.SQL("ST_Transform({}, {})").format(env, sql.Literal(self.source.srid))
        return env

    def geometry(self, node: object) -> sql.Composable:
        if isinstance(node, ast.Attribute):
            if node.name in ("geometry", self.source.geometry_column):
                return ident(self.source.geometry_column)
            raise _bad(f"{node.name!r} is not the geometry property")
        if isinstance(node, values.Envelope):
            return self._envelope(node.x1, node.y1, node.x2, node.y2)
        if isinstance(node, ast.Function) and node.name == "bbox" and len(node.arguments) in (4, 6):
            a = node.arguments
            return self._envelope(*((a[0], a[1], a[3], a[4]) if len(a) == 6 else a))
        if isinstance(node, values.Geometry) and isinstance(node.geometry, dict):
            geometry = dict(node.geometry)
            crs = self._literal_crs(geometry)
            geometry.pop("crs", None)
            geometry_literal.check(geometry, crs)
            geom = sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(
                self.binds(json.dumps(geometry)), sql.Literal(crs.srid)
            )
            return self._to_storage(geom, crs)
        raise _bad(f"not a geometry: {node!r}")

    def _spatial(self, node: ast.SpatialComparisonPredicate) -> sql.Composable:
        return sql.SQL("{}({}, {})").format(
            sql.SQL(_SPATIAL[node.op]), self.geometry(node.lhs), self.geometry(node.rhs)
        )

    def _geography(self, geom: sql.Composable) -> sql.Composable:
        if self.source.srid != 4326:
            geom = sql.SQL("ST_Transform({}, 4326)").format(geom)
        return sql.SQL("({})::geography").format(geom)

    def _distance(self, node: ast.SpatialDistancePredicate) -> sql.Composable:
        factor = _METRES.get(str(node.units).lower())
        if factor is None:
            raise _bad(f"unsupported distance unit {node.units!r}; use meters or kilometers")
        within = sql.SQL("ST_DWithin({}, {}, {})").format(
            self._geography(self.geometry(node.lhs)),
            self._geography(self.geometry(node.rhs)),
            self.binds(float(node.distance) * factor),
        )
        if node.op == ast.SpatialDistanceOp.BEYOND:
            return sql.SQL("(NOT {})").format(within)
        return within


def to_sql(node: object, source: Source, binds: Binds, filter_crs: Crs = CRS84) -> sql.Composable:
    """The WHERE condition of a parsed filter on `source`."""
    return Translator(source, binds, filter_crs).condition(node)
