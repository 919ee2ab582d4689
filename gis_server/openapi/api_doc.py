"""The `/api` document (OpenAPI 3.1): generated from the app's `DocumentedRoute`s.

A route made with `gis_server.routing.api_route` is in it the moment the app
lists it; nothing here names a route. 3.1 because route docs are plain JSON
Schema (type arrays, `const`), which 3.0's schema dialect does not take.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gis_server.openapi.build import SECURITY_SCHEMES, Operation, openapi_path, paths
from gis_server.openapi.schemas import ERROR
from gis_server.routing import documented_routes

API_VERSION = "3.1.0"


def api_operations(routes: Sequence[Any]) -> list[Operation]:
    """Every documented (path, method) of the route table; HEAD goes with GET."""
    ops = []
    for route in documented_routes(routes):
        for method, doc in sorted(route.docs.items()):
            if method == "HEAD" and "GET" in route.docs:
                continue
            ops.append(Operation(openapi_path(route.path), method, doc))
    return ops


def api_document(routes: Sequence[Any], public_reads: bool = True) -> dict[str, Any]:
    return {
        "openapi": API_VERSION,
        "info": {
            "title": "onemap 一张图 — console, grid and auth API",
            "version": "1",
            "description": "onemap's own JSON API (the OGC API is described at /ogc/openapi). "
            "Errors are one JSON body {code, description, parameter?}.",
        },
        "servers": [{"url": "/"}],
        "paths": paths(api_operations(routes), public_reads),
        "components": {"schemas": {"Error": ERROR}, "securitySchemes": SECURITY_SCHEMES},
    }
