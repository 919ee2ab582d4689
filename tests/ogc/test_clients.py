"""External clients against a real `onemap serve`: GDAL's OAPIF driver and OWSLib."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from owslib.ogcapi.features import Features

from layers.registry import LAYERS

needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None, reason="GDAL CLI not installed")


@needs_gdal
def test_ogrinfo_lists_every_layer(live_server):
    out = subprocess.run(
        ["ogrinfo", "-ro", "-so", f"OAPIF:{live_server}/ogc"],
        capture_output=True, text=True, timeout=120, check=True,
    ).stdout  # fmt: skip
    for layer in LAYERS:
        assert re.search(rf"^\d+: {layer.id}\b", out, re.M), out


@needs_gdal
def test_ogr2ogr_copies_all_current_grids(live_server, sql, tmp_path):
    out = tmp_path / "grids.gpkg"
    subprocess.run(
        ["ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{live_server}/ogc", "grids"],
        capture_output=True, text=True, timeout=300, check=True,
    )  # fmt: skip
    info = subprocess.run(
        ["ogrinfo", "-ro", "-so", str(out), "grids"], capture_output=True, text=True, check=True
    ).stdout
    count = int(re.search(r"Feature Count: (\d+)", info).group(1))
    assert count == sql("SELECT count(*) FROM grids WHERE valid_to IS NULL")[0][0]


def test_owslib_reads_collections_and_items(live_server, sql):
    api = Features(f"{live_server}/ogc")
    ids = {c["id"] for c in api.collections()["collections"]}
    assert ids == {layer.id for layer in LAYERS}
    assert api.collection("grids")["title"].startswith("网格")
    items = api.collection_items("cameras", limit=7)
    assert len(items["features"]) == 7
    assert items["numberMatched"] == sql("SELECT count(*) FROM cameras")[0][0]
    q = api.collection_queryables("events")
    assert "status" in q["properties"]
