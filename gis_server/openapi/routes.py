"""`/api/openapi.json`: the `/api` document, generated from the app's own route table.

Built on first request from `request.app.routes` (so every route the app lists
with `api_route` is in it, this one included) and kept on `app.state`.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from gis_server.openapi.api_doc import api_document
from gis_server.routing import Body, DocumentedRoute, RouteDoc, api_route

API_DOC_PATH = "/api/openapi.json"
OPENAPI_JSON = "application/vnd.oai.openapi+json;version=3.1"

DOC = RouteDoc(
    "本文档 this OpenAPI document (/api; the OGC API's is /ogc/openapi)",
    tags=("meta",),
    responses={200: Body("OpenAPI 3.1", {"type": "object", "required": ["openapi", "paths"]},
                         (OPENAPI_JSON,))},
)  # fmt: skip


async def api_openapi(request: Request) -> Response:
    app = request.app
    doc = getattr(app.state, "api_openapi", None)
    if doc is None:
        doc = api_document(app.routes, app.state.settings.ogc.public_reads)
        app.state.api_openapi = doc
    return JSONResponse(doc, media_type=OPENAPI_JSON)


def openapi_routes() -> list[DocumentedRoute]:
    return [api_route(API_DOC_PATH, api_openapi, doc=DOC)]
