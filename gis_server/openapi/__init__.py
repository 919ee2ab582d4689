"""The OpenAPI documents onemap serves, generated — never written by hand.

- `/ogc/openapi` (OpenAPI 3.0.3): `ogc_doc.ogc_document()`, from the layer
  registry and onemap's OGC routes (`ogc_features`, `ogc_params`);
- `/api/openapi.json` (OpenAPI 3.1): `api_doc.api_document(app.routes)`, from
  every `gis_server.routing.api_route` in the app's route table (`routes`).

`build` turns (path, method, RouteDoc) operations into OpenAPI and adds the
statuses every route can answer; `schemas` holds the shared JSON Schemas.
"""

from gis_server.openapi.api_doc import api_document, api_operations
from gis_server.openapi.build import Operation
from gis_server.openapi.ogc_doc import ogc_document, ogc_operations
from gis_server.openapi.routes import API_DOC_PATH, openapi_routes

__all__ = [
    "API_DOC_PATH",
    "Operation",
    "api_document",
    "api_operations",
    "ogc_document",
    "ogc_operations",
    "openapi_routes",
]
