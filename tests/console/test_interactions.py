"""Search, point query, track playback and the GCJ-02 overlay shift, in the browser."""

from __future__ import annotations

import json
import time

import pytest

from gis_server.settings import PROJECT_DIR


def _popup_text(page) -> str:
    page.wait_for_selector(".leaflet-popup-content .oc-popup h4", timeout=10_000)
    return page.inner_text(".leaflet-popup-content")


def test_search_grid_code_flies_there_and_opens_popup(console, sql) -> None:
    code, name = sql(
        "SELECT array[code, name] FROM grids WHERE valid_to IS NULL ORDER BY code LIMIT 1"
    )
    page = console.page
    page.fill("#oc-search-input", code)
    page.press("#oc-search-input", "Enter")
    text = _popup_text(page)
    assert code in text and name in text and "网格员" in text
    assert console.stats()["lastSearch"]["code"] == code


@pytest.mark.parametrize(
    "query_sql, kind",
    [
        ("SELECT name FROM cameras ORDER BY code LIMIT 1", "camera"),
        ("SELECT plate FROM vehicles WHERE geom IS NOT NULL ORDER BY code LIMIT 1", "vehicle"),
        (
            "SELECT code FROM events WHERE status <> 'closed' ORDER BY created_at DESC LIMIT 1",
            "event",
        ),
    ],
)
def test_search_camera_plate_event(console, sql, query_sql, kind) -> None:
    q = sql(query_sql)
    hits = console.page.evaluate("q => window.onemapConsole.search(q)", q)
    assert hits and hits[0]["kind"] == kind
    assert q in _popup_text(console.page)


def test_search_coordinate_runs_point_query(console) -> None:
    hits = console.page.evaluate("window.onemapConsole.search('121.2,31.9')")
    assert hits[0]["kind"] == "coordinate"
    console.page.wait_for_function("window.onemapConsole.stats().lastPoint !== null")
    center = console.page.evaluate(
        "(() => { const c = onemapConsole.map.getCenter(); return [c.lng, c.lat]; })()"
    )
    assert abs(center[0] - 121.2) < 1e-3 and abs(center[1] - 31.9) < 1e-3


def test_point_query_matches_postgis(console, sql) -> None:
    lon, lat = sql(
        "SELECT array[ST_X(p), ST_Y(p)] FROM (SELECT ST_PointOnSurface(geom) p FROM grids "
        "WHERE valid_to IS NULL ORDER BY code LIMIT 1) s"
    )
    page = console.page
    # A real click on the map at that spot (the map is plain WGS84 here).
    page.evaluate(
        "([lon, lat]) => { onemapConsole.map.setView([lat, lon], 16, {animate: false}); }",
        [lon, lat],
    )
    xy = page.evaluate(
        "([lon, lat]) => { const p = onemapConsole.map.latLngToContainerPoint([lat, lon]);"
        " const r = onemapConsole.map.getContainer().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }",
        [lon, lat],
    )
    page.evaluate("() => { onemapConsole.map.removeLayer(OnemapConsole.layers.events.layer); }")
    page.mouse.click(xy[0], xy[1])
    page.wait_for_function("onemapConsole.stats().lastPoint !== null")
    doc = console.stats()["lastPoint"]
    point = "ST_SetSRID(ST_MakePoint(%s, %s), 4326)"
    grid = sql(
        f"SELECT code FROM grids WHERE valid_to IS NULL AND ST_Intersects(geom, {point})",
        (doc["lon"], doc["lat"]),
    )
    assert doc["grid"]["code"] == grid
    nearest = sql(
        f"SELECT array_agg(code ORDER BY d) FROM (SELECT code, ST_Distance(geom::geography, {point}::geography) d "
        "FROM cameras ORDER BY d LIMIT 5) s",
        (doc["lon"], doc["lat"]),
    )
    assert [c["code"] for c in doc["cameras"]] == nearest
    assert len(doc["vehicles"]) == min(
        5, sql("SELECT count(*) FROM vehicles WHERE geom IS NOT NULL")
    )
    assert all(
        a["distance_m"] <= b["distance_m"]
        for a, b in zip(doc["cameras"], doc["cameras"][1:], strict=False)
    )
    text = _popup_text(page)
    assert "最近视频" in text and "最近车辆" in text and grid in text


def test_track_playback_moves_the_marker(console, sql) -> None:
    vehicle, day = sql(
        "SELECT array[vehicle_code, day::text] FROM vehicle_tracks ORDER BY fix_count DESC, code LIMIT 1"
    )
    page = console.page
    assert page.evaluate("([v, d]) => onemapConsole.loadTrack(v, d)", [vehicle, day]) is True
    start = console.stats()["track"]
    assert start["points"] == sql(
        "SELECT ST_NPoints(geom) FROM vehicle_tracks WHERE vehicle_code = %s AND day = %s",
        (vehicle, day),
    )
    page.select_option("#oc-track-speed", "1800")
    page.click("#oc-track-play")
    page.wait_for_function(  # the marker has left its first fix (a stop may come first)
        "s => { const t = onemapConsole.stats().track;"
        " return t.t > s.t && (t.lat !== s.lat || t.lng !== s.lng); }",
        arg=start,
        timeout=10_000,
    )
    moved = console.stats()["track"]
    assert moved["t"] > start["t"]
    assert (moved["lat"], moved["lng"]) != (start["lat"], start["lng"])
    # Scrubbing to the end puts the marker on the last fix (M = its time).
    page.evaluate("onemapConsole.tracks.pause(); onemapConsole.tracks.seek(1)")
    end = console.stats()["track"]
    last_t = sql(
        "SELECT ST_M(ST_EndPoint(geom)) FROM vehicle_tracks WHERE vehicle_code = %s AND day = %s",
        (vehicle, day),
    )
    assert end["t"] == pytest.approx(last_t)


def test_gcj02_transform_matches_the_district_file(console) -> None:
    """WGS84 district vertices shifted by the console land on the raw GCJ-02 file's vertices."""
    data = PROJECT_DIR / "data/haimen"
    wgs = json.loads((data / "haimen_district.geojson").read_text())["features"][0]["geometry"]
    gcj = json.loads((data / "haimen_district_gcj02.geojson").read_text())["features"][0][
        "geometry"
    ]

    def ring(g):
        c = g["coordinates"]
        return c[0][0] if g["type"] == "MultiPolygon" else c[0]

    pairs = list(zip(ring(wgs), ring(gcj), strict=False))[::25]
    shifted = console.page.evaluate(
        "pts => pts.map(p => OnemapConsole.gcj02.wgsToGcj(p[0], p[1]))", [w for w, _ in pairs]
    )
    for (_, g), s in zip(pairs, shifted, strict=True):
        assert abs(s[0] - g[0]) < 2e-5 and abs(s[1] - g[1]) < 2e-5  # ≈ 2 m


def test_gcj02_basemap_shifts_overlays_and_clicks_back(console) -> None:
    page = console.page
    before = page.evaluate("OnemapConsole.vehicles.data[0]")
    page.evaluate("onemapConsole.setVariant('gcj02')")
    ll = page.evaluate(
        "(() => { const v = OnemapConsole.vehicles.data[0]; const m = OnemapConsole.vehicles.markers[v.code].getLatLng(); return [m.lng, m.lat]; })()"
    )
    expected = page.evaluate("v => OnemapConsole.gcj02.wgsToGcj(v.lon, v.lat)", before)
    assert ll == pytest.approx(expected, abs=1e-9)
    assert abs(ll[0] - before["lon"]) > 1e-3  # a few hundred metres
    back = page.evaluate("([lng, lat]) => OnemapConsole.fromLatLng(L.latLng(lat, lng))", ll)
    assert back == pytest.approx([before["lon"], before["lat"]], abs=1e-7)
    assert console.stats()["counts"]["grids"] > 0 and console.errors() == []


def test_other_screens_edits_show_without_a_reload(console, console_dsn, sql) -> None:
    """The console polls grids, river zones and cameras (`console.layers_refresh_s`):
    a camera switched off elsewhere is redrawn; an unchanged layer is not."""
    import psycopg2

    page = console.page
    code, status, lon, lat = sql(
        "SELECT array[code, status, ST_X(geom)::text, ST_Y(geom)::text] FROM cameras "
        "WHERE status = 'online' ORDER BY code LIMIT 1"
    )
    # near enough for the camera's own dot (vector tiles cluster the district's view)
    page.evaluate(
        "([lon, lat]) => { onemapConsole.map.setView([+lat, +lon], 16, {animate: false}); }",
        [lon, lat],
    )
    page.evaluate("OnemapConsole.cameras.tiles.whenDrawn().then(() => null)")
    assert page.evaluate(f"OnemapConsole.cameras.drawn()[{json.dumps(code)}].status") == status
    page.evaluate("onemapConsole.refreshLayers()")  # settle: whatever changed before the test
    before = console.stats()["layerRedraws"]
    page.evaluate("onemapConsole.refreshLayers()")
    assert console.stats()["layerRedraws"] == before  # all 304: nothing redrawn

    def set_status(value: str) -> None:
        conn = psycopg2.connect(console_dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("UPDATE cameras SET status = %s WHERE code = %s", (value, code))
        conn.close()

    try:
        set_status("offline")
        # poll as the console does (a server process trusts its layer versions for a second)
        deadline = time.monotonic() + 15
        while (
            page.evaluate(
                "() => onemapConsole.refreshLayers().then(() => onemapConsole.stats().layerRedraws.cameras)"
            )
            == before["cameras"]
        ):
            assert time.monotonic() < deadline, "the camera's change was never redrawn"
        after = console.stats()["layerRedraws"]
        assert after["cameras"] == before["cameras"] + 1
        assert after.get("grids", 0) == before.get("grids", 0)
        drawn = page.evaluate(f"OnemapConsole.cameras.drawn()[{json.dumps(code)}].status")
        assert drawn == "offline"  # its tile was asked again and drew the new status
    finally:
        set_status(status)
    assert console.errors() == []
