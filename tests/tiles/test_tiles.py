"""OGC API - Tiles: MVT content checked against SQL, clustering, empty tiles, errors, metadata."""

from __future__ import annotations

import datetime as dt
import math

import mapbox_vector_tile
import psycopg2
import pytest

from gis_server.ogc.tiles import mvt, tms

MVT = "application/vnd.mapbox-vector-tile"
WMQ = "WebMercatorQuad"


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    """(row, col) of the WebMercatorQuad tile holding lon/lat."""
    n = 2**z
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return row, col


def _decode(content: bytes) -> dict:
    return mapbox_vector_tile.decode(content)


def _url(cid: str, tms: str, z: int, row: int, col: int) -> str:
    return f"/ogc/collections/{cid}/tiles/{tms}/{z}/{row}/{col}"


def test_camera_tile_holds_exactly_the_cameras_in_it(client, sql):
    lon, lat = sql("SELECT ST_X(geom), ST_Y(geom) FROM cameras ORDER BY code LIMIT 1")[0]
    z = 14
    row, col = _tile_of(lon, lat, z)
    r = client.get(_url("cameras", WMQ, z, row, col), params={"f": "mvt"})
    assert r.status_code == 200 and r.headers["content-type"] == MVT
    features = _decode(r.content)["cameras"]["features"]
    got = {f["properties"]["code"] for f in features}
    margin = mvt.BUFFER / mvt.EXTENT
    expected = sql(
        "SELECT code FROM cameras WHERE ST_Intersects(ST_Transform(geom, 3857), "
        "ST_TileEnvelope(%s, %s, %s, margin => %s))",
        (z, col, row, margin),
    )
    assert got == {c for (c,) in expected}
    assert set(features[0]["properties"]) >= {"code", "name", "kind", "status"}


def _first_grid_point(sql) -> tuple[float, float]:
    """A point inside the first current grid (by code)."""
    return sql(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) p FROM grids "
        "WHERE valid_to IS NULL ORDER BY code LIMIT 1) s"
    )[0]


def test_grid_tile_holds_the_current_grids_it_overlaps(client, sql):
    lon, lat = _first_grid_point(sql)
    z = 13
    row, col = _tile_of(lon, lat, z)
    r = client.get(_url("grids", WMQ, z, row, col))
    assert r.status_code == 200
    got = {f["properties"]["code"] for f in _decode(r.content)["grids"]["features"]}
    env = "ST_TileEnvelope(%s, %s, %s, margin => %s)"
    touching = sql(
        f"SELECT code FROM grids WHERE valid_to IS NULL AND "
        f"ST_Intersects(ST_Transform(geom, 3857), {env})",
        (z, col, row, mvt.BUFFER / mvt.EXTENT),
    )
    # grids covering more than a few tile units of the tile itself must all be there
    pixel = (40075016.68557849 / 2**z / mvt.EXTENT) ** 2
    inside = sql(
        f"SELECT code FROM grids WHERE valid_to IS NULL AND ST_Area(ST_Intersection("
        f"ST_Transform(geom, 3857), {env})) > %s",
        (z, col, row, 0.0, 16 * pixel),
    )
    assert {c for (c,) in inside} <= got <= {c for (c,) in touching}
    assert len(inside) > 0


def test_overview_grid_tile_keeps_every_grid_of_the_tile(client, sql):
    """Below DETAIL_ZOOM grids are simplified (in metres, on the stored Web Mercator copy),
    never dropped, and carry only the light attributes."""
    lon, lat = _first_grid_point(sql)
    z = 10
    row, col = _tile_of(lon, lat, z)
    r = client.get(_url("grids", WMQ, z, row, col))
    assert r.status_code == 200
    features = _decode(r.content)["grids"]["features"]
    inside = sql(
        "SELECT code FROM grids WHERE valid_to IS NULL AND "
        "ST_Within(ST_Transform(geom, 3857), ST_TileEnvelope(%s, %s, %s))",
        (z, col, row),
    )
    assert {f["properties"]["code"] for f in features} >= {c for (c,) in inside} != set()
    assert all(set(f["properties"]) <= {"code", "name", "grid_type"} for f in features)


def test_detail_tile_served_twice_is_the_same(client, sql):
    """The second request of a tile kind runs the prepared statement: same bytes; HEAD
    (the routed handler, not the tiles' fast lane) gives the same validators."""
    lon, lat = sql("SELECT ST_X(geom), ST_Y(geom) FROM cameras ORDER BY code LIMIT 1")[0]
    row, col = _tile_of(lon, lat, 15)
    url = _url("cameras", WMQ, 15, row, col)
    first, second, head = client.get(url), client.get(url), client.head(url)
    assert first.status_code == second.status_code == head.status_code == 200
    assert first.content == second.content and head.content == b""
    assert first.headers["etag"] == head.headers["etag"]


def _clusters(client, sql, z: int, params: dict | None = None) -> list[dict]:
    """The cluster features of every z tile over the cameras' extent."""
    xmin, ymin, xmax, ymax = sql(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM "
        "(SELECT ST_Extent(geom) e FROM cameras) s"
    )[0]
    row0, col0 = _tile_of(xmin, ymax, z)
    row1, col1 = _tile_of(xmax, ymin, z)
    out = []
    for row in range(row0, row1 + 1):
        for col in range(col0, col1 + 1):
            r = client.get(_url("cameras", WMQ, z, row, col), params=params or {})
            assert r.status_code in (200, 204)
            if r.status_code == 200:
                out += _decode(r.content)["cameras"]["features"]
    return out


def test_low_zoom_clusters_sum_to_the_layer(client, sql):
    features = _clusters(client, sql, 9)
    # a cluster carries its count and its commonest status (the style's property)
    assert all(set(f["properties"]) == {"count", "status"} for f in features)
    assert (
        sum(f["properties"]["count"] for f in features) == sql("SELECT count(*) FROM cameras")[0][0]
    )


def test_a_cluster_is_coloured_by_its_commonest_status(client, sql):
    """The (count, status) of every z9 cluster are those of its grid cell, counted in SQL
    on the same 64 x 64 cells per tile (aligned on the quad's origin)."""
    z, r = 9, 20037508.342789244
    cell = 2 * r / 2**z / mvt.CLUSTER_CELLS
    want = sql(
        "SELECT count(*)::int, mode() WITHIN GROUP (ORDER BY status) FROM ("
        "SELECT ST_X(g) x, ST_Y(g) y, status FROM (SELECT ST_Transform(geom, 3857) g, status "
        "FROM cameras) s) p GROUP BY floor((x + %s) / %s), floor((y + %s) / %s)",
        (r, cell, r, cell),
    )
    got = [(f["properties"]["count"], f["properties"]["status"]) for f in _clusters(client, sql, z)]
    assert sorted(got) == sorted(want)


def test_filter_keeps_the_matching_features_in_tiles_and_clusters(client, sql):
    """`filter` (CQL2) on tiles: detail tiles hold exactly the matching features, the
    cluster counts of a low zoom add up to the matching rows, and the ETag differs."""
    where = "status IN ('offline', 'fault')"
    lon, lat = sql(
        f"SELECT ST_X(geom), ST_Y(geom) FROM cameras WHERE {where} ORDER BY code LIMIT 1"
    )[0]
    z = 14
    row, col = _tile_of(lon, lat, z)
    r = client.get(_url("cameras", WMQ, z, row, col), params={"filter": where})
    assert r.status_code == 200
    got = {f["properties"]["code"] for f in _decode(r.content)["cameras"]["features"]}
    assert got == _codes_in(sql, "cameras", z, row, col, where) and got
    unfiltered = client.get(_url("cameras", WMQ, z, row, col))
    assert unfiltered.headers["etag"] != r.headers["etag"]
    js = '{"op": "in", "args": [{"property": "status"}, ["offline", "fault"]]}'
    as_json = client.get(
        _url("cameras", WMQ, z, row, col), params={"filter": js, "filter-lang": "cql2-json"}
    )
    assert as_json.content == r.content
    features = _clusters(client, sql, 9, {"filter": where})
    total = sql(f"SELECT count(*) FROM cameras WHERE {where}")[0][0]
    assert sum(f["properties"]["count"] for f in features) == total
    assert {f["properties"]["status"] for f in features} <= {"offline", "fault"}


def test_empty_tile_is_204_without_body(client):
    r = client.get(_url("cameras", WMQ, 10, 0, 0))
    assert r.status_code == 204 and r.content == b""
    assert r.headers["cache-control"].startswith("public")


def test_cgcs2000_quad_tile(client, sql):
    lon, lat = sql("SELECT ST_X(geom), ST_Y(geom) FROM cameras ORDER BY code DESC LIMIT 1")[0]
    z = 14
    span = 180 / 2**z
    col, row = int((lon + 180) // span), int((90 - lat) // span)
    r = client.get(_url("cameras", "CGCS2000Quad", z, row, col))
    assert r.status_code == 200
    got = {f["properties"]["code"] for f in _decode(r.content)["cameras"]["features"]}
    x0, y1 = -180 + col * span, 90 - row * span
    m = span * mvt.BUFFER / mvt.EXTENT
    expected = sql(
        "SELECT code FROM cameras WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
        (x0 - m, y1 - span - m, x0 + span + m, y1 + m),
    )
    assert got == {c for (c,) in expected}


def test_tiles_have_validators_and_304(client, sql):
    lon, lat = sql("SELECT ST_X(geom), ST_Y(geom) FROM cameras ORDER BY code LIMIT 1")[0]
    row, col = _tile_of(lon, lat, 12)
    url = _url("cameras", WMQ, 12, row, col)
    r = client.get(url)
    assert r.headers["cache-control"] == "public, max-age=60"
    assert r.headers["etag"].startswith('"') and r.headers["last-modified"]
    assert client.get(url, headers={"If-None-Match": r.headers["etag"]}).status_code == 304
    gz = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert gz.headers.get("content-encoding") == "gzip" and gz.content == r.content


@pytest.mark.parametrize(
    ("path", "status", "word"),
    [
        (_url("cameras", WMQ, 25, 0, 0), 404, "tileMatrix"),
        (_url("cameras", WMQ, 3, 8, 0), 404, "tileRow"),
        (_url("cameras", WMQ, 3, 0, 8), 404, "tileCol"),
        (_url("cameras", "CGCS2000Quad", 3, 8, 0), 404, "tileRow"),
        (_url("cameras", "NoSuchQuad", 3, 0, 0), 404, "NoSuchQuad"),
        (_url("cameras", WMQ, "x", 0, 0), 400, "tileMatrix"),
        (_url("cameras", WMQ, 3, "-1", 0), 400, "tileRow"),
        (_url("cameras", WMQ, 3, 0, "1.5"), 400, "tileCol"),
        (_url("cameras", WMQ, 3, 0, 0) + "?f=png", 400, "f"),
        (_url("cameras", WMQ, 3, 0, 0) + "?filter=nosuch%3D1", 400, "nosuch"),
        (_url("cameras", WMQ, 3, 0, 0) + "?filter=status%3D%3D", 400, "filter"),
        (
            _url("cameras", WMQ, 3, 0, 0) + "?filter=status%3D'x'&filter-lang=sql",
            400,
            "filter-lang",
        ),
        (_url("nothing", WMQ, 3, 0, 0), 404, "nothing"),
    ],
)
def test_tile_errors_are_json(client, path, status, word):
    r = client.get(path)
    assert r.status_code == status
    body = r.json()
    assert body["code"] and word in body["description"]


def test_tile_matrix_sets(client):
    body = client.get("/ogc/tileMatrixSets").json()
    ids = {t["id"] for t in body["tileMatrixSets"]}
    assert ids == {"WebMercatorQuad", "CGCS2000Quad"}
    wmq = client.get("/ogc/tileMatrixSets/WebMercatorQuad").json()
    assert wmq["crs"].endswith("/3857") and wmq["tileMatrices"][0]["matrixWidth"] == 1
    cgcs = client.get("/ogc/tileMatrixSets/CGCS2000Quad").json()
    assert cgcs["crs"].endswith("/4490") and cgcs["tileMatrices"][0]["matrixWidth"] == 2
    assert client.get("/ogc/tileMatrixSets/Nope").status_code == 404


def test_tilesets_and_tileset_metadata(client):
    body = client.get("/ogc/collections/grids/tiles").json()
    assert {t["tileMatrixSetURI"].rsplit("/", 1)[-1] for t in body["tilesets"]} >= {
        "WebMercatorQuad"
    }
    meta = client.get("/ogc/collections/grids/tiles/WebMercatorQuad").json()
    item = next(link for link in meta["links"] if link["rel"] == "item")
    assert item["type"] == MVT and "{tileMatrix}/{tileRow}/{tileCol}" in item["href"]
    assert meta["tiles"][0].endswith("/{z}/{y}/{x}?f=mvt") and meta["vector_layers"][0]["id"]


def test_conformance_claims_tiles(client):
    classes = client.get("/ogc/conformance", params={"f": "json"}).json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core" in classes
    assert "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt" in classes


def test_collection_links_to_its_tilesets(client):
    links = client.get("/ogc/collections/cameras", params={"f": "json"}).json()["links"]
    tiles = [link for link in links if link["rel"].endswith("/tilesets-vector")]
    assert tiles and tiles[0]["href"].endswith("/ogc/collections/cameras/tiles?f=json")


def test_private_reads_cover_tiles(ogc_settings, demo_db):
    """With `ogc.public_reads: false` a tile needs credentials like any other read (the
    tiles' fast lane sits inside the access policy)."""
    import secrets

    from starlette.testclient import TestClient

    from gis_server.app import create_app
    from gis_server.auth import store
    from gis_server.auth.roles import Role

    private = ogc_settings.model_copy(
        update={"ogc": ogc_settings.ogc.model_copy(update={"public_reads": False})}
    )
    with psycopg2.connect(demo_db) as conn:
        name = f"tiles-{secrets.token_hex(4)}"
        store.add_user(conn, name, Role.VIEWER, secrets.token_urlsafe(16) + "aA1!")
        _, key, _ = store.issue_key(conn, name, "tiles test")
    conn.close()
    url = _url("grids", WMQ, 3, 3, 6)
    with TestClient(create_app(private)) as c:
        r = c.get(url)
        assert r.status_code == 401 and r.json()["code"] == "NotAuthenticated"
        assert c.get(url, headers={"X-API-Key": key}).status_code == 200


def _densest(sql, table: str, z: int, where: str = "TRUE") -> tuple[int, int]:
    """(row, col) of the z tile holding most rows of `table` matching `where`."""
    n = 2**z
    row, col = sql(
        f"SELECT floor((1 - asinh(tan(radians(ST_Y(p)))) / pi()) / 2 * {n})::int r, "
        f"floor((ST_X(p) + 180) / 360 * {n})::int c "
        f"FROM (SELECT ST_PointOnSurface(geom) p FROM {table} WHERE {where}) s "
        "GROUP BY 1, 2 ORDER BY count(*) DESC LIMIT 1"
    )[0]
    return row, col


def _codes_in(sql, table: str, z: int, row: int, col: int, where: str, params=()) -> set:
    env = "ST_TileEnvelope(%s, %s, %s, margin => %s)"
    rows = sql(
        f"SELECT code FROM {table} WHERE ST_Intersects(ST_Transform(geom, 3857), {env}) "
        f"AND {where}",
        (z, col, row, mvt.BUFFER / mvt.EXTENT, *params),
    )
    return {c for (c,) in rows}


def test_datetime_keeps_the_events_of_that_day(client, sql):
    (day,) = sql(
        "SELECT (created_at AT TIME ZONE 'Asia/Shanghai')::date FROM events "
        "GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )[0]
    lo, hi = f"{day}T00:00:00+08:00", f"{day}T23:59:59.999999+08:00"
    z = 15  # past the clustering zooms: one feature per event
    row, col = _densest(sql, "events", z, f"created_at BETWEEN '{lo}' AND '{hi}'")
    r = client.get(_url("events", WMQ, z, row, col), params={"datetime": f"{lo}/{hi}"})
    assert r.status_code == 200
    got = {f["properties"]["code"] for f in _decode(r.content)["events"]["features"]}
    want = _codes_in(sql, "events", z, row, col, "created_at BETWEEN %s AND %s", (lo, hi))
    assert got == want and want
    everything = client.get(_url("events", WMQ, z, row, col))
    assert everything.headers["etag"] != r.headers["etag"]  # another representation
    assert len(_decode(everything.content)["events"]["features"]) > len(got)


def test_datetime_on_grids_shows_the_layout_then(client, sql):
    (first,) = sql("SELECT min(valid_from) FROM grids")[0]
    row, col = _densest(sql, "grids", 13, "valid_to IS NULL")
    now = client.get(_url("grids", WMQ, 13, row, col))
    before = (first - dt.timedelta(days=1)).isoformat()
    assert (
        client.get(_url("grids", WMQ, 13, row, col), params={"datetime": before}).status_code == 204
    )
    at_load = client.get(_url("grids", WMQ, 13, row, col), params={"datetime": first.isoformat()})
    assert at_load.status_code == 200 and now.status_code == 200


def test_gps_fixes_tiles_start_at_z12_and_show_the_last_24_hours(client, sql):
    r = client.get(_url("vehicle_positions", WMQ, 11, 0, 0))
    assert r.status_code == 404 and "tileMatrix 12" in r.json()["description"]
    meta = client.get("/ogc/collections/vehicle_positions/tiles/WebMercatorQuad").json()
    assert meta["minzoom"] == 12 and meta["layers"][0]["minTileMatrix"] == "12"
    assert "24" in meta["description"]

    hour = dt.datetime.now(dt.UTC).replace(minute=0, second=0, microsecond=0)
    since = hour - dt.timedelta(hours=24)
    z = 16  # past the clustering zooms of two million fixes
    row, col = _densest(sql, "vehicle_positions", z, f"fix_time >= '{since.isoformat()}'")
    r = client.get(_url("vehicle_positions", WMQ, z, row, col))
    assert r.status_code == 200
    got = len(_decode(r.content)["vehicle_positions"]["features"])
    # the server's own lon/lat envelope of the buffered tile: ST_TileEnvelope in 3857 and
    # the fixes transformed to it disagreed by one fix on the edge (floating point)
    lon0, lat0, lon1, lat1 = mvt.lonlat_envelope(tms.get(WMQ), z, row, col, mvt.BUFFER)
    (want,) = sql(
        "SELECT count(*) FROM vehicle_positions WHERE fix_time >= %s AND "
        "geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
        (since, lon0, lat0, lon1, lat1),
    )[0]
    assert got == want > 0
    all_days = client.get(_url("vehicle_positions", WMQ, z, row, col), params={"datetime": "../.."})
    assert len(_decode(all_days.content)["vehicle_positions"]["features"]) >= got


@pytest.mark.parametrize(
    ("query", "word"),
    [({"datetime": "yesterday"}, "datetime"), ({"datetime": "2026-02-01/2026-01-01"}, "datetime"),
     ({"bbox": "1,2,3,4"}, "bbox"), ({"filter": "code =="}, "filter"),
     ({"filter": "code='x'", "filter-lang": "sql"}, "filter-lang")],
)  # fmt: skip
def test_tile_query_errors_name_the_parameter(client, query, word):
    r = client.get(_url("events", WMQ, 14, 6652, 13718), params=query)
    assert r.status_code == 400 and r.json()["code"] == "InvalidParameterValue"
    assert word in r.json()["description"]
