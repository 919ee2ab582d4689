"""The Part 4 routes: authorise, read and check the request, run the layer's kind of
write in one transaction (or a dry run), answer with the feature and its ETag."""

from __future__ import annotations

from urllib.parse import quote

from psycopg2.extensions import connection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gis_server import editing
from gis_server.auth import require_write
from gis_server.errors import NotFound
from gis_server.ogc.writes.feature import FeatureWrite, Written, read_write
from gis_server.ogc.writes.in_place import write_in_place
from gis_server.ogc.writes.versioned import write_version
from gis_server.settings import Settings
from layers.base import LayerSpec
from layers.registry import BY_ID

GEOJSON = "application/geo+json"


def editable_layer(collection_id: str) -> LayerSpec:
    layer = BY_ID.get(collection_id)
    if layer is None:
        raise NotFound(f"collection {collection_id!r} not found")
    if not layer.editable:
        raise NotFound(f"集合不可编辑 — collection {collection_id!r} is not editable")
    return layer


def _dry_run_answer(written: Written) -> Response:
    """What would happen; no ETag or Location: nothing exists to point at."""
    preview = dict(written.feature or {})
    if written.outputs is not None:
        preview["onemap:edit"] = written.outputs
    preview["onemap:dry_run"] = True
    return JSONResponse(preview, media_type=GEOJSON)


def _answer(write: FeatureWrite, written: Written) -> Response:
    if write.method == "DELETE":
        return Response(status_code=204)
    headers = {"ETag": written.etag} if written.etag else {}
    body = dict(written.feature or {})
    if written.outputs is not None:
        body["onemap:edit"] = written.outputs
    if write.method == "POST":
        base = str(write.request.url.replace(query="")).rstrip("/")
        headers["Location"] = f"{base}/{quote(write.code, safe='')}"
    status = 201 if write.method == "POST" else 200
    return JSONResponse(body, status_code=status, headers=headers, media_type=GEOJSON)


def write_routes(settings: Settings) -> list[Route]:
    """Part 4 routes relative to the /ogc mount."""

    def work(conn: connection, write: FeatureWrite) -> Written:
        if write.layer.versioned:
            return write_version(conn, write, settings)
        return write_in_place(conn, write)

    async def handle(request: Request) -> Response:
        layer = editable_layer(request.path_params["collection_id"])
        principal = await require_write(request, layer.id)
        write = await read_write(request, layer, principal, settings)
        dry_run = editing.dry_run_param(request)
        written = await editing.run_edit_async(
            settings, lambda conn: work(conn, write), dry_run=dry_run
        )
        return _dry_run_answer(written) if dry_run else _answer(write, written)

    return [
        Route("/collections/{collection_id}/items", handle, methods=["POST"]),
        Route(
            "/collections/{collection_id}/items/{item_id:path}",
            handle,
            methods=["PUT", "PATCH", "DELETE"],
        ),
    ]
