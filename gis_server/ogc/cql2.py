"""CQL2 parsing (text and JSON) into pygeofilter's AST, with the standard forms pygeofilter 0.4 lacks.

pygeofilter's cql2-text grammar writes temporal predicates infix
(`a T_AFTER b`), has no S_DWITHIN, no open interval ends and no one-letter
property names. The grammar below is pygeofilter's with those standard CQL2
forms (`T_AFTER(a, b)`, `INTERVAL('2025-01-01', '..')`, `S_DWITHIN(g, POINT(..), 100, meters)`).
T_INTERSECTS becomes NOT T_DISJOINT (pygeofilter maps it to T_OVERLAPS, which
is a different relation).
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import pygeofilter.parsers
from lark import Lark, v_args
from lark.exceptions import LarkError
from pygeofilter import ast, values
from pygeofilter.cql2 import SPATIAL_PREDICATES_MAP, TEMPORAL_PREDICATES_MAP
from pygeofilter.parsers.cql2_json.parser import walk_cql_json
from pygeofilter.parsers.cql2_text.parser import CQLTransformer

from gis_server import json_body
from gis_server.errors import InvalidParameter

# A filter is bounded: its text, its nesting (AND/OR chains count once: `a OR b OR c`
# is one level) and its terms (properties, literals, operators). Longer, deeper or
# bigger is a 400, not a stack overflow in the translator or a statement PostgreSQL
# plans for seconds.
MAX_CHARS = 32 * 1024
MAX_DEPTH = 32
MAX_NODES = 2000

GRAMMAR = r"""
?start: condition

?condition: condition_1
          | condition "AND"i condition_1                          -> and_
          | condition "OR"i condition_1                           -> or_

?condition_1: predicate
            | "NOT"i condition_1                                  -> not_
            | "(" condition ")"

?predicate: expression "=" expression                             -> eq
          | expression "<>" expression                            -> ne
          | expression "!=" expression                            -> ne
          | expression "<" expression                             -> lt
          | expression "<=" expression                            -> lte
          | expression ">" expression                             -> gt
          | expression ">=" expression                            -> gte
          | expression "BETWEEN"i expression "AND"i expression    -> between
          | expression "NOT"i "BETWEEN"i expression "AND"i expression -> not_between
          | expression "LIKE"i expression                         -> like
          | expression "NOT"i "LIKE"i expression                  -> not_like
          | expression "IN"i "(" expression ( "," expression )* ")"          -> in_
          | expression "NOT"i "IN"i "(" expression ( "," expression )* ")"   -> not_in
          | expression "IS"i "NULL"i                              -> null
          | expression "IS"i "NOT"i "NULL"i                       -> not_null
          | "INCLUDE"i                                            -> include
          | "EXCLUDE"i                                            -> exclude
          | _temporal_func "(" expression "," expression ")"      -> temporal_function
          | _spatial_func "(" expression "," expression ")"       -> binary_spatial_predicate
          | "S_DWITHIN"i "(" expression "," expression "," full_number ["," attribute] ")" -> dwithin

!_temporal_func: "T_BEFORE"i | "T_AFTER"i | "T_MEETS"i | "T_METBY"i | "T_OVERLAPS"i
               | "T_OVERLAPPEDBY"i | "T_BEGINS"i | "T_BEGUNBY"i | "T_DURING"i
               | "T_CONTAINS"i | "T_ENDS"i | "T_ENDEDBY"i | "T_EQUALS"i
               | "T_INTERSECTS"i | "T_DISJOINT"i

!_spatial_func: "S_INTERSECTS"i | "S_DISJOINT"i | "S_CONTAINS"i | "S_WITHIN"i
              | "S_TOUCHES"i | "S_CROSSES"i | "S_OVERLAPS"i | "S_EQUALS"i

?expression: sum

?sum: product
    | sum "+" product                                             -> add
    | sum "-" product                                             -> sub

?product: atom
        | product "*" atom                                        -> mul
        | product "/" atom                                        -> div

?atom: func
     | attribute
     | literal
     | "-" atom                                                   -> neg
     | "(" expression ")"

func.2: attribute "(" [expression ("," expression)*] ")"           -> function

?literal: "TIMESTAMP"i "(" SINGLE_QUOTED ")"                      -> timestamp_literal
        | "DATE"i "(" SINGLE_QUOTED ")"                           -> date_literal
        | "INTERVAL"i "(" interval_end "," interval_end ")"       -> interval
        | number
        | BOOLEAN
        | SINGLE_QUOTED
        | ewkt_geometry                                           -> geometry
        | "BBOX"i "(" full_number "," full_number "," full_number "," full_number ")" -> bbox

?interval_end: SINGLE_QUOTED -> interval_text
             | attribute

?full_number: number
            | "-" number                                          -> neg

?number: FLOAT | INT

BOOLEAN.2: ( "TRUE"i | "FALSE"i )

DOUBLE_QUOTED: "\"" /.*?/ "\""
SINGLE_QUOTED: "'" /(?:[^']|'')*/ "'"

attribute: /[a-zA-Z_][a-zA-Z_:0-9.]*/
         | DOUBLE_QUOTED

%import .wkt.ewkt_geometry
%import common.FLOAT
%import common.INT
%import common.WS
%ignore WS
"""


def _moment(text: str) -> dt.datetime | None:
    if text == "..":
        return None
    if len(text) == 10:
        return dt.datetime.combine(dt.date.fromisoformat(text), dt.time(), dt.UTC)
    moment = dt.datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


@v_args(meta=False, inline=True)
class _Transformer(CQLTransformer):
    def temporal_function(self, op: Any, lhs: Any, rhs: Any) -> ast.Node:
        name = str(op).lower()
        if name == "t_intersects":
            return ast.Not(ast.TimeDisjoint(lhs, rhs))
        if name == "t_disjoint":
            return ast.TimeDisjoint(lhs, rhs)
        return TEMPORAL_PREDICATES_MAP[name](lhs, rhs)

    def binary_spatial_predicate(self, op: Any, lhs: Any, rhs: Any) -> ast.Node:
        return SPATIAL_PREDICATES_MAP[str(op).lower()](lhs, rhs)

    def dwithin(self, lhs: Any, rhs: Any, distance: Any, units: Any = None) -> ast.Node:
        unit = units.name if isinstance(units, ast.Attribute) else "meters"
        return ast.DistanceWithin(lhs, rhs, float(distance), unit)

    def function(self, func_name: Any, *expressions: Any) -> ast.Node:
        args = [e for e in expressions if e is not None]
        name = func_name.name.lower()
        return ast.Function("lower" if name == "casei" else name, args)

    def timestamp_literal(self, text: str) -> dt.datetime | None:
        return _moment(text)

    def date_literal(self, text: str) -> dt.date:
        return dt.date.fromisoformat(text)

    def interval_text(self, text: str) -> dt.datetime | None:
        return _moment(text)

    def DATE(self, token: Any) -> Any:  # noqa: N802 - keyword token, not pygeofilter's DATE
        return token

    def DATETIME(self, token: Any) -> Any:  # noqa: N802
        return token

    def interval(self, start: Any, end: Any) -> values.Interval:
        return values.Interval(start, end)

    def bbox(self, *numbers: float) -> values.Envelope:
        minx, miny, maxx, maxy = numbers
        return values.Envelope(minx, maxx, miny, maxy)

    def SINGLE_QUOTED(self, token: Any) -> str:  # noqa: N802 - lark terminal name
        return token[1:-1].replace("''", "'")


_PARSER = Lark(
    GRAMMAR,
    parser="lalr",
    maybe_placeholders=False,
    transformer=_Transformer(),
    import_paths=[os.path.dirname(pygeofilter.parsers.__file__)],
)


def _fix_json(node: Any) -> Any:
    """Build the standard CQL2-JSON forms pygeofilter lacks or gets wrong, bottom-up.

    pygeofilter's walker passes AST nodes through untouched, so fixed sub-trees
    are embedded as nodes: t_intersects/t_disjoint, 3-argument between,
    s_dwithin and bbox literals (whose axes pygeofilter mislabels).
    """
    if isinstance(node, list):
        return [_fix_json(n) for n in node]
    if not isinstance(node, dict):
        return node
    if node.get("filter-lang", "cql2-json") != "cql2-json":  # pygeofilter raises bare Exception
        raise ValueError(f"cannot parse {node['filter-lang']!r} as cql2-json")
    node = {k: _fix_json(v) for k, v in node.items()}
    if "bbox" in node and len(node) == 1 and isinstance(node["bbox"], list):
        b = node["bbox"]
        x1, y1, x2, y2 = (b[0], b[1], b[3], b[4]) if len(b) == 6 else b
        return values.Envelope(x1, x2, y1, y2)
    op, args = node.get("op"), node.get("args")
    if not isinstance(op, str) or not isinstance(args, list):
        return node
    args = [walk_cql_json(a) for a in args]
    op = op.lower()
    if op in ("t_intersects", "t_disjoint") and len(args) == 2:
        disjoint = ast.TimeDisjoint(*args)
        return ast.Not(disjoint) if op == "t_intersects" else disjoint
    if op == "between" and len(args) == 3:
        return ast.Between(args[0], args[1], args[2], False)
    if op == "s_dwithin" and len(args) in (3, 4):
        unit = str(args[3]) if len(args) == 4 else "meters"
        return ast.DistanceWithin(args[0], args[1], float(args[2]), unit)
    return node


# What a malformed filter raises, i.e. the client's fault. cql2-text: lark's
# syntax errors, ValueError from a bad literal (date, time, number). cql2-json:
# pygeofilter's walker indexes, unpacks and calls into the client's document, so
# a wrong shape surfaces as a lookup, type or attribute error (the document was
# read by `json_body.loads`: at most 64 levels deep, no NUL or lone surrogate).
# Anything else is a bug and propagates (500).
_TEXT_ERRORS: tuple[type[Exception], ...] = (LarkError, ValueError)
_JSON_ERRORS: tuple[type[Exception], ...] = (ValueError, TypeError, LookupError, AttributeError)


def parse(text: str, lang: str | None) -> ast.Node:
    """The AST of a `filter` in `filter-lang` (cql2-text unless told); 400 if it does not parse."""
    lang = (lang or "cql2-text").lower()
    if lang not in ("cql2-text", "cql2-json"):
        raise InvalidParameter("filter-lang", f"unsupported {lang!r}; use cql2-text or cql2-json")
    if len(text) > MAX_CHARS:
        raise InvalidParameter("filter", f"longer than {MAX_CHARS} characters")
    if lang == "cql2-json":
        document = json_body.loads(text, "filter")
        try:
            node = walk_cql_json(_fix_json(document))
        except _JSON_ERRORS as exc:
            raise _invalid(lang, exc) from None
    else:
        try:
            node = _PARSER.parse(text)
        except _TEXT_ERRORS as exc:
            raise _invalid(lang, exc) from None
    _check_size(node)
    return node


def _check_size(root: ast.Node) -> None:
    """400 when the filter nests deeper than MAX_DEPTH or has more than MAX_NODES terms
    (walked without recursion: 3,000 nested NOTs parse fine but overflow any recursion)."""
    stack: list[tuple[Any, int]] = [(root, 1)]
    count = 0
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_NODES:
            raise InvalidParameter("filter", f"more than {MAX_NODES} terms")
        if depth > MAX_DEPTH:
            raise InvalidParameter("filter", f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, list | tuple):
            stack += [(n, depth) for n in node]
        elif isinstance(node, ast.Node):
            for sub in node.get_sub_nodes():
                same_chain = isinstance(node, ast.Combination) and type(sub) is type(node)
                stack.append((sub, depth if same_chain else depth + 1))


def _invalid(lang: str, exc: Exception) -> InvalidParameter:
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return InvalidParameter("filter", f"not valid {lang}: {detail}")
