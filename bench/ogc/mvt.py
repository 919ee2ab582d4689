"""Just enough of the Mapbox Vector Tile protobuf to count features per layer (no dependency)."""

from __future__ import annotations

import gzip
from collections.abc import Iterator


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _fields(buf: bytes) -> Iterator[tuple[int, int, int | bytes]]:
    """(field number, wire type, value) of each field; value is bytes for length-delimited."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            size, pos = _varint(buf, pos)
            value, pos = buf[pos : pos + size], pos + size
        elif wire == 5:
            value, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def feature_counts(tile: bytes) -> dict[str, int]:
    """{layer name: number of features} of an MVT tile (gzip accepted); {} if empty."""
    if tile[:2] == b"\x1f\x8b":
        tile = gzip.decompress(tile)
    layers: dict[str, int] = {}
    for number, _wire, layer in _fields(tile):
        if number != 3 or not isinstance(layer, bytes):
            continue
        name, count = "", 0
        for n, w, value in _fields(layer):
            if n == 1 and w == 2:
                name = bytes(value).decode("utf-8", "replace")
            elif n == 2 and w == 2:  # one feature
                count += 1
        layers[name] = layers.get(name, 0) + count
    return layers
