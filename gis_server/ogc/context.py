"""The parsed query of the request being served, handed from the dispatcher to the provider.

pygeoapi calls `provider.query(...)`/`provider.get(...)` with arguments it
parsed itself from text (and it cannot hand a provider a cql2-json GET
filter). The dispatcher has already checked and parsed the request into one
`ItemsQuery`/`FeatureByIdQuery`, so it sets it here for the duration of the
pygeoapi call and the provider reads it instead of parsing again.
"""

from __future__ import annotations

from contextvars import ContextVar

from gis_server.ogc.query import FeatureByIdQuery, ItemsQuery

current_query: ContextVar[ItemsQuery | FeatureByIdQuery | None] = ContextVar(
    "onemap_query", default=None
)
