"""The parsed CQL2 filter of the request being served, handed from the front check to the provider.

pygeoapi reads `filter` itself as cql2-text only and cannot hand a provider a
cql2-json GET filter, so the dispatcher parses (and validates) the filter,
hides it from pygeoapi, and sets it here for the duration of the call.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass

from gis_server.ogc.crs import CRS84, Crs


@dataclass(frozen=True)
class ParsedFilter:
    node: object  # pygeofilter AST
    crs: Crs = CRS84


current_filter: ContextVar[ParsedFilter | None] = ContextVar("onemap_filter", default=None)
