"""The Part 4 routes: authorise, read and check the request, run the layer's kind of
write in one transaction (or a dry run), answer with the feature and its ETag.

They also answer OPTIONS on items and on a feature with the methods the resource
really takes (`Allow`), and a write to a read-only collection with 405 and that
`Allow` (RFC 9110 15.5.6), rather than pretending the collection is not there."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import quote

from psycopg import Connection
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gis_server import editing
from gis_server.auth import require_collection
from gis_server.errors import MethodNotAllowed, UnsupportedMediaType
from gis_server.ogc.writes import district
from gis_server.ogc.writes.feature import FeatureWrite, Written, read_write
from gis_server.ogc.writes.in_place import write_in_place
from gis_server.ogc.writes.versioned import write_version
from gis_server.settings import Settings
from layers.base import LayerSpec

GEOJSON = "application/geo+json"
READ = ("GET", "HEAD", "OPTIONS")
WRITES = {"items": ("POST",), "feature": ("PUT", "PATCH", "DELETE")}
_JSON_TYPES = ("application/json", "application/geo+json")
MERGE_PATCH = "application/merge-patch+json"


# A published collection's LayerSpec by id (a registry layer, or a config collection's
# `source.ConfigLayer`); NotFound for an unknown collection (the OGC service's `layer_async`).
LayerLookup = Callable[[str], Awaitable[LayerSpec]]


def allowed(layer: LayerSpec, resource: str) -> tuple[str, ...]:
    """What `resource` ("items" or "feature") of an existing collection takes."""
    return READ + WRITES[resource] if layer.editable else READ


def check_media_type(request: Request) -> None:
    """415 unless the body is JSON: GeoJSON or JSON, or a merge patch on PATCH
    (parameters such as charset allowed); checked before the body is read."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    accepted = _JSON_TYPES + ((MERGE_PATCH,) if request.method == "PATCH" else ())
    if ctype not in accepted:
        raise UnsupportedMediaType(
            f"应为 {' 或 '.join(accepted)} — expected {' or '.join(accepted)}, "
            f"got {ctype or 'none'!r}"
        )


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
        code = written.code if written.code is not None else write.code
        headers["Location"] = f"{base}/{quote(str(code), safe='')}"
    status = 201 if write.method == "POST" else 200
    return JSONResponse(body, status_code=status, headers=headers, media_type=GEOJSON)


def write_routes(settings: Settings, layers: LayerLookup) -> list[Route]:
    """Part 4 routes (and OPTIONS) relative to the /ogc mount; `layers` finds a collection's
    LayerSpec, so built-in layers and editable config collections take one write path."""

    def work(conn: Connection, write: FeatureWrite) -> Written:
        district.check_before(conn, write)
        if write.layer.versioned:
            written = write_version(conn, write, settings)
        else:
            written = write_in_place(conn, write)
        district.check_after(write, written)
        return written

    async def handle(request: Request) -> Response:
        cid = request.path_params["collection_id"]
        layer = await layers(cid)  # NotFound for a collection that does not exist
        resource = "feature" if "item_id" in request.path_params else "items"
        allow = allowed(layer, resource)
        if request.method == "OPTIONS":
            return Response(status_code=204, headers={"Allow": ", ".join(allow)})
        if not layer.editable:
            raise MethodNotAllowed(f"集合只读 — collection {cid!r} is read-only", allow=allow)
        principal = await require_collection(request, cid, layer.write_role or "admin")
        if request.method != "DELETE":
            check_media_type(request)
        write = await read_write(request, layer, principal, settings)
        dry_run = editing.dry_run_param(request)
        written = await editing.run_edit_async(
            settings, lambda conn: work(conn, write), dry_run=dry_run
        )
        return _dry_run_answer(written) if dry_run else _answer(write, written)

    return [
        Route("/collections/{collection_id}/items", handle, methods=["POST", "OPTIONS"]),
        Route(
            "/collections/{collection_id}/items/{item_id:path}",
            handle,
            methods=["PUT", "PATCH", "DELETE", "OPTIONS"],
        ),
    ]
