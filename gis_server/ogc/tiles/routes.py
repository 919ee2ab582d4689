"""OGC API - Tiles routes (vector tiles of every collection), answered by onemap, not pygeoapi.

/tileMatrixSets[/{id}], /collections/{id}/tiles[/{tms}] (tileset metadata with
TileJSON-style members, `tiles/metadata.py`) and
/collections/{id}/tiles/{tms}/{tileMatrix}/{tileRow}/{tileCol} (OGC order: z/y/x;
`tiles/answer.py`). A tile is one ST_AsMVT statement; an empty tile is 204.
Tiles carry a strong ETag and Last-Modified from the layer's change counter and
`Cache-Control: public, max-age=60` for a tile cache in front. GET tiles usually
arrive through `tiles/fast_lane.py`; HEAD takes the route below.
"""

from __future__ import annotations

from collections.abc import Collection

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gis_server.auth.district_scope import district_of
from gis_server.ogc.tiles.answer import TileService
from gis_server.ogc.tiles.metadata import TileMetadata


def tile_routes(tiles: TileService, metadata: TileMetadata) -> list[BaseRoute]:
    """Routes relative to the /ogc mount."""

    async def tile(request: Request) -> Response:
        p = request.path_params
        parts = (p["collection_id"], p["tms"], p["z"], p["row"], p["col"])

        async def reader(columns: Collection[str]) -> str | None:
            return await district_of(request, columns)

        answer = await tiles.answer(
            parts, request.query_params, request.url.path, request.headers, reader
        )
        return Response(answer.body, status_code=answer.status, headers=answer.headers)

    get = ["GET", "HEAD"]
    return [
        Route("/tileMatrixSets", metadata.matrix_sets, methods=get),
        Route("/tileMatrixSets/{tms}", metadata.matrix_set, methods=get),
        Route("/collections/{collection_id}/tiles", metadata.tilesets, methods=get),
        Route("/collections/{collection_id}/tiles/{tms}", metadata.tileset, methods=get),
        Route("/collections/{collection_id}/tiles/{tms}/{z}/{row}/{col}", tile, methods=get),
    ]
