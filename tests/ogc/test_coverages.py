"""Rasters from `onemap import raster` are OGC API coverage collections, without a restart."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.io import MemoryFile
from rasterio.transform import from_origin

from etl.raster import import_raster
from gis_server.ogc import coverages
from layers.registry import LAYERS
from tests.ogc.test_offline_html import foreign_refs

RID = "test_dem"


def _geotiff(path: Path, width: int = 40, height: int = 30) -> Path:
    data = (np.arange(width * height, dtype="float32").reshape(height, width) % 17) + 1
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=1, dtype="float32",
        crs="EPSG:4326", transform=from_origin(121.1, 32.0, 0.01, 0.01), nodata=-9999,
    ) as dst:  # fmt: skip
        dst.write(data, 1)
    return path


@pytest.fixture()
def imported(demo_db, client, sql, tmp_path, monkeypatch) -> Iterator[Path]:
    """A raster imported while the app runs (the app has served requests before)."""
    monkeypatch.setattr(coverages, "CHECK_INTERVAL_S", 0.0)  # see the import at once
    assert client.get("/ogc/collections").status_code == 200  # API built before the import
    src = _geotiff(tmp_path / "dem.tif")
    import_raster(
        demo_db, src, raster_dir=tmp_path / "rasters", raster_id=RID, title="测试高程 DEM"
    )
    yield tmp_path / "rasters" / f"{RID}.tif"
    sql("DELETE FROM rasters WHERE id IN (%s, 'grids') RETURNING id", (RID,))
    # back to the layers only, for the other tests sharing the session's app
    ids = {c["id"] for c in client.get("/ogc/collections").json()["collections"]}
    assert ids == {layer.id for layer in LAYERS}


def test_imported_raster_is_listed_with_title_and_bbox(client, imported):
    by_id = {c["id"]: c for c in client.get("/ogc/collections").json()["collections"]}
    assert RID in by_id
    c = by_id[RID]
    assert c["title"] == "测试高程 DEM"
    with rasterio.open(imported) as ds:
        b = ds.bounds
    assert c["extent"]["spatial"]["bbox"][0] == pytest.approx([b.left, b.bottom, b.right, b.top])
    one = client.get(f"/ogc/collections/{RID}")
    assert one.status_code == 200 and one.json()["id"] == RID


def test_coverage_returns_the_geotiff(client, imported):
    r = client.get(f"/ogc/collections/{RID}/coverage?f=GTiff")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"] == "image/tiff"
    with MemoryFile(r.content) as mem, mem.open() as ds, rasterio.open(imported) as cog:
        assert (ds.width, ds.height, ds.count) == (40, 30, 1)
        assert ds.crs.to_epsg() == 4326
        assert np.array_equal(ds.read(1), cog.read(1))
    # f is case-insensitive like everywhere else in /ogc
    assert client.get(f"/ogc/collections/{RID}/coverage?f=gtiff").status_code == 200


def test_coverage_errors(client, imported):
    assert client.get(f"/ogc/collections/{RID}/coverage?f=png").status_code == 400
    assert client.get("/ogc/collections/nope/coverage?f=GTiff").status_code == 404
    assert client.get("/ogc/collections/grids/coverage?f=GTiff").status_code == 404


def test_coverage_pages_are_offline(client, imported, ogc_settings):
    from urllib.parse import urlsplit

    hosts = {urlsplit(ogc_settings.server.public_url).hostname, "testserver"}
    for url in (f"/ogc/collections/{RID}?f=html", f"/ogc/collections/{RID}/coverage?f=html"):
        r = client.get(url)
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html"), url
        assert foreign_refs(r.text, hosts) == [], url


def test_raster_named_like_a_layer_is_refused_with_a_warning(
    client, imported, demo_db, tmp_path, caplog
):
    src = _geotiff(tmp_path / "grids.tif")
    import_raster(demo_db, src, raster_dir=tmp_path / "rasters", raster_id="grids")
    with caplog.at_level(logging.WARNING, logger="gis_server.ogc.coverages"):
        body = client.get("/ogc/collections/grids").json()
    assert body["itemType"] == "feature"  # still the layer
    assert any("'grids'" in rec.getMessage() for rec in caplog.records)
    assert client.get(f"/ogc/collections/{RID}").status_code == 200  # the other raster stays
