"""The typed, immutable form of a features request, built once by `validate` and read by every path.

An items request is checked and parsed exactly once (`validate.items_query`):
the fast GeoJSON route, the pygeoapi provider (HTML, JSON-LD, CSV, hits; it
gets the object over `context.current_query`) and the SQL builders all read
this object instead of parsing strings again. `args` keeps the normalised
parameters as text, because pygeoapi reads text and the links must repeat
exactly what pygeoapi would write.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from psycopg import sql

from gis_server.ogc.crs import CRS84, Crs
from gis_server.ogc.params import TimeRange
from gis_server.ogc.source import Column

_NO_ARGS: Mapping[str, str] = MappingProxyType({})


@dataclass(frozen=True, slots=True)
class SqlFilter:
    """A CQL2 filter compiled once: its condition and the values its placeholders bind.

    Every statement of the request starts its `Binds` from `values`, so the
    condition's placeholder names stay valid wherever it is used.
    """

    condition: sql.Composable
    values: Mapping[str, object]


@dataclass(frozen=True, slots=True)
class ItemsQuery:
    """`GET .../items`, checked and typed for one collection."""

    args: Mapping[str, str] = _NO_ARGS  # normalised text parameters (pygeoapi, links)
    limit: int = 10
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None  # CRS84 lon/lat, whatever bbox-crs was
    time: TimeRange | None = None
    district: str | None = None  # the reader's district (auth/district_scope.py); None: all
    equals: tuple[tuple[Column, object], ...] = ()  # property=value, values typed per column
    filter: SqlFilter | None = None
    sortby: tuple[tuple[str, bool], ...] = ()  # (property, ascending)
    select: tuple[str, ...] | None = None  # None: every public property
    skip_geometry: bool = False
    crs: Crs = CRS84
    cursor: str | None = None  # opaque; decoded against the page's order keys (keyset.decode)
    hits: bool = False  # resulttype=hits
    district: str | None = None  # the reader's district (auth/district_scope.py); None: all


@dataclass(frozen=True, slots=True)
class FeatureByIdQuery:
    """`GET .../items/{id}`: output CRS and, on the JSON path, the time the version is wanted for."""

    args: Mapping[str, str] = _NO_ARGS
    crs: Crs = CRS84
    time: TimeRange | None = None
    district: str | None = None  # the reader's district (auth/district_scope.py); None: all
