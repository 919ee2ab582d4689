"""Recent tiles per process, so a map's repeated tiles skip PostGIS until their layer changes."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from gis_server.ogc import caching


class TileCache:
    """Recent tiles per process, valid for one version of their layer (LRU, bounded in bytes).

    A tile is built from one layer only, so it stays right until that layer's
    change counter moves (`caching.LayerVersions`, read at most once a second:
    the same staleness as the ETag's). Without `layer_changes` nothing is kept.
    """

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self._bytes = 0
        self._tiles: OrderedDict[tuple[Any, ...], tuple[caching.Change, bytes]] = OrderedDict()

    def get(self, key: tuple[Any, ...], change: caching.Change | None) -> bytes | None:
        hit = self._tiles.get(key)
        if hit is None or change is None:
            return None
        if hit[0] != change:  # the layer changed since: rebuild
            self._drop(key)
            return None
        self._tiles.move_to_end(key)
        return hit[1]

    def put(self, key: tuple[Any, ...], change: caching.Change | None, tile: bytes) -> None:
        if change is None or not self.max_bytes or len(tile) > self.max_bytes // 16:
            return
        self._drop(key)
        self._tiles[key] = (change, tile)
        self._bytes += len(tile)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._tiles)))

    def _drop(self, key: tuple[Any, ...]) -> None:
        old = self._tiles.pop(key, None)
        if old is not None:
            self._bytes -= len(old[1])
