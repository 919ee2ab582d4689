"""The tiles' JSON documents: tile matrix sets, and each collection's tilesets.

A tileset document is OGC API - Tiles metadata with TileJSON 3.0 members, so
MapLibre/Leaflet plugins can read the same document.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gis_server.errors import InvalidParameter
from gis_server.ogc.source import Source, SourceLookup
from gis_server.ogc.tiles import mvt, tms
from layers.base import LayerSpec
from layers.registry import BY_ID

REL_SCHEME = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme"  # tileset → its scheme
REL_SCHEMES = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes"  # landing → /tileMatrixSets
REL_TILESETS = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector"  # collection → its tilesets


class TileMetadata:
    """The metadata handlers: collections from `sources`, links under `public_url`/ogc, and
    the district's extent as the tilesets' bounds."""

    def __init__(
        self,
        sources: SourceLookup,
        public_url: str,
        district_extent: tuple[float, float, float, float],
    ):
        self.sources = sources
        self.base = public_url + "/ogc"
        self.district_extent = district_extent

    async def matrix_sets(self, request: Request) -> Response:
        _check_json(request)
        sets = [
            {
                "id": t.id,
                "title": t.title,
                "uri": t.uri,
                "crs": t.crs,
                "links": [
                    {
                        "rel": "self",
                        "type": "application/json",
                        "title": t.title,
                        "href": f"{self.base}/tileMatrixSets/{t.id}?f=json",
                    }
                ],
            }
            for t in tms.TILE_MATRIX_SETS.values()
        ]
        return _json({"tileMatrixSets": sets})

    async def matrix_set(self, request: Request) -> Response:
        _check_json(request)
        return _json(tms.get(request.path_params["tms"]).document())

    async def tilesets(self, request: Request) -> Response:
        _check_json(request)
        source = await self.sources(request.path_params["collection_id"])
        url = f"{self.base}/collections/{source.id}/tiles"
        doc = {
            "links": [
                {"rel": "self", "type": "application/json", "href": f"{url}?f=json"},
                {
                    "rel": "collection",
                    "type": "application/json",
                    "href": f"{self.base}/collections/{source.id}",
                },
            ],
            "tilesets": [
                self._tileset(source, t, summary=True) for t in tms.TILE_MATRIX_SETS.values()
            ],
        }
        return _json(doc)

    async def tileset(self, request: Request) -> Response:
        _check_json(request)
        source = await self.sources(request.path_params["collection_id"])
        matrix_set = tms.get(request.path_params["tms"])
        return _json(self._tileset(source, matrix_set, summary=False))

    def _tileset(self, source: Source, t: tms.TileMatrixSet, summary: bool) -> dict[str, Any]:
        url = f"{self.base}/collections/{source.id}/tiles/{t.id}"
        template = f"{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}?f=mvt"
        doc: dict[str, Any] = {
            "title": f"{source.title} ({t.id})",
            "dataType": "vector",
            "crs": t.crs,
            "tileMatrixSetURI": t.uri,
            "links": [
                {"rel": "self", "type": "application/json", "href": f"{url}?f=json"},
                {
                    "rel": REL_SCHEME,
                    "type": "application/json",
                    "href": f"{self.base}/tileMatrixSets/{t.id}?f=json",
                },
                {"rel": "item", "type": mvt.MVT_TYPE, "templated": True, "href": template},
            ],
        }
        if summary:
            return doc
        fields = {c.name: c.title or c.type for c in source.columns}
        spec = BY_ID.get(source.id)
        min_zoom = spec.tile_min_zoom if spec is not None else 0
        doc["layers"] = [
            {"id": source.id, "title": source.title, "dataType": "vector",
             "minTileMatrix": str(min_zoom), "maxTileMatrix": str(t.max_zoom)}
        ]  # fmt: skip
        if source.temporal:
            doc["description"] = _time_note(source, spec)
        # TileJSON 3.0 members, so MapLibre/Leaflet plugins can read the same document
        doc.update(
            {
                "tilejson": "3.0.0",
                "tiles": [template.replace("{tileMatrix}", "{z}").replace("{tileRow}", "{y}")
                          .replace("{tileCol}", "{x}")],
                "minzoom": min_zoom,
                "maxzoom": t.max_zoom,
                "bounds": list(self.district_extent),
                "vector_layers": [{"id": source.id, "fields": fields}],
            }
        )  # fmt: skip
        return doc


def _check_json(request: Request) -> None:
    f = request.query_params.get("f")
    if f is not None and f.lower() != "json":
        raise InvalidParameter("f", f"unsupported format {f!r}; use json")


def _time_note(source: Source, spec: LayerSpec | None) -> str:
    """What a temporal layer's tiles show, for its tileset metadata."""
    if spec is not None and spec.tile_window_hours is not None:
        h = spec.tile_window_hours
        return (f"默认显示最近 {h} 小时;datetime= 指定时间范围 — without datetime the tiles show "
                f"the last {h} hours; datetime= (an instant or an interval) chooses the time")  # fmt: skip
    if source.current_filter:
        return ("默认显示现行版本;datetime= 显示当时的版本 — without datetime the tiles show the "
                "current versions; datetime= shows the versions in force then")  # fmt: skip
    return ("datetime= (时刻或时段) 筛选 — datetime= (an instant or an interval) keeps the "
            "features of that time")  # fmt: skip


def _json(doc: dict[str, Any]) -> Response:
    return Response(
        json.dumps(doc, ensure_ascii=False).encode(),
        media_type="application/json",
        headers={"Cache-Control": "public, max-age=300"},
    )
