"""The console draws cameras and events from onemap's own vector tiles (issue 16):
the layers come from tile responses, not one big GeoJSON; clicks open popups; the
event filters travel as the tiles' CQL2 filter; a live change redraws its tiles."""

from __future__ import annotations

import re

import psycopg2

TILE = re.compile(r"/ogc/collections/(cameras|events)/tiles/WebMercatorQuad/\d+/\d+/\d+")


def _tile_requests(console, layer: str) -> list[str]:
    return [u for u in console.requests if (m := TILE.search(u)) and m.group(1) == layer]


def test_cameras_and_events_draw_from_tiles_only(console, sql) -> None:
    stats = console.stats()
    # every camera and every open case is drawn (clusters count as their points) ...
    assert stats["counts"]["cameras"] == sql("SELECT count(*) FROM cameras")
    assert stats["counts"]["events"] == sql("SELECT count(*) FROM events WHERE status <> 'closed'")
    # ... from tile responses: the page asked for tiles, and no layer as GeoJSON
    for layer in ("cameras", "events"):
        assert len(_tile_requests(console, layer)) >= stats["tiles"][layer]["responses"] > 0
    assert not [u for u in console.requests if "/api/console/layers/cameras" in u]
    big = [u for u in console.requests if "/api/console/events?" in u and "limit=1" not in u]
    assert big == []  # only the count (limit=1); the heatmap is off
    assert "status IN (" in stats["tiles"]["events"]["query"]["filter"]
    assert console.foreign_requests() == [] and console.errors() == []


def _click_at(page, lon: float, lat: float, zoom: int) -> None:
    """Centre the map on lon/lat at `zoom`, wait for the tiles, click that spot."""
    page.evaluate(
        "([lon, lat, z]) => { onemapConsole.map.setView([lat, lon], z, {animate: false}); }",
        [lon, lat, zoom],
    )
    page.evaluate(
        "Promise.all([OnemapConsole.cameras.tiles.whenDrawn(), OnemapConsole.events.tiles.whenDrawn()]).then(() => null)"
    )
    xy = page.evaluate(
        "([lon, lat]) => { const p = onemapConsole.map.latLngToContainerPoint([lat, lon]);"
        " const r = onemapConsole.map.getContainer().getBoundingClientRect();"
        " return [r.left + p.x, r.top + p.y]; }",
        [lon, lat],
    )
    page.mouse.click(xy[0], xy[1])


def test_a_click_on_a_camera_opens_its_popup(console, sql) -> None:
    code, name, lon, lat = sql(
        "SELECT array[code, name, ST_X(geom)::text, ST_Y(geom)::text] FROM cameras c "
        "WHERE NOT EXISTS (SELECT FROM cameras o WHERE o.code <> c.code "
        "AND ST_DWithin(o.geom::geography, c.geom::geography, 60)) "
        "AND NOT EXISTS (SELECT FROM events e WHERE ST_DWithin(e.geom::geography, c.geom::geography, 60)) "
        "AND NOT EXISTS (SELECT FROM vehicles v WHERE ST_DWithin(v.geom::geography, c.geom::geography, 60)) "
        "ORDER BY code LIMIT 1"
    )
    page = console.page
    _click_at(page, float(lon), float(lat), 17)
    page.wait_for_selector(".leaflet-popup-content .oc-popup h4", timeout=10_000)
    page.wait_for_function(
        "c => document.querySelector('.leaflet-popup-content').innerText.includes(c)", arg=code
    )
    text = page.inner_text(".leaflet-popup-content")
    assert name in text and code in text
    drawn = page.evaluate("OnemapConsole.cameras.drawn()")
    assert drawn[code]["status"] == sql("SELECT status FROM cameras WHERE code = %s", (code,))


def test_a_click_on_a_cluster_zooms_in(console) -> None:
    page = console.page
    before = page.evaluate("onemapConsole.map.getZoom()")
    # the biggest camera cluster in view, at its pixel
    xy = page.evaluate(
        """() => { const map = onemapConsole.map, size = map.getSize(); let best = null;
        OnemapConsole.cameras.tiles._tiles().forEach((r) =>
          Object.values(r._features || {}).forEach((f) => {
            const p = f.feature.properties;
            const g = r._tileCoord.scaleBy(r._size).add(f.feature._point);
            const c = map.latLngToContainerPoint(map.unproject(g, r._tileCoord.z));
            const inside = c.x > 50 && c.y > 50 && c.x < size.x - 50 && c.y < size.y - 50;
            if (inside && p.count > 1 && (!best || p.count > best.count)) best = {count: p.count, c};
          }));
        const b = map.getContainer().getBoundingClientRect();
        return [b.left + best.c.x, b.top + best.c.y]; }"""
    )
    page.evaluate("() => { onemapConsole.map.removeLayer(OnemapConsole.layers.events.layer); }")
    page.mouse.click(xy[0], xy[1])
    page.wait_for_function(f"onemapConsole.map.getZoom() > {before}")


def test_event_filters_travel_as_the_tiles_cql2_filter(console, sql) -> None:
    category = sql(
        "SELECT category FROM events WHERE status = 'closed' GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
    )
    page = console.page
    before = console.stats()["tiles"]["events"]["responses"]
    page.evaluate(
        "c => onemapConsole.events.setFilter({status: ['closed'], category: c, window: 'all'})",
        category,
    )
    stats = console.stats()
    expected = sql(
        "SELECT count(*) FROM events WHERE status = 'closed' AND category = %s", (category,)
    )
    assert stats["counts"]["events"] == expected == stats["counts"]["events_total"]
    assert stats["tiles"]["events"]["query"]["filter"] == (
        f"status IN ('closed') AND category = '{category}'"
    )
    assert stats["tiles"]["events"]["responses"] > before
    filtered = [u for u in _tile_requests(console, "events") if "filter=" in u and "closed" in u]
    assert filtered


def test_a_live_change_redraws_the_tiles_that_hold_it(console, console_dsn, sql) -> None:
    """An open case closed elsewhere: the stream's `event` message (its lon/lat) makes the
    console refetch that case's tiles only, and the case is no longer drawn."""
    page = console.page
    page.wait_for_function("onemapConsole.stats().live.connected", timeout=20_000)
    code, status = sql(
        "SELECT array[code, status] FROM events WHERE status <> 'closed' ORDER BY code LIMIT 1"
    )
    before = console.stats()
    refreshed = page.evaluate("OnemapConsole.events.tiles.refreshedTiles || 0")

    def set_status(value: str) -> None:
        conn = psycopg2.connect(console_dsn)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(
                "UPDATE events SET status = %s, closed_at = CASE WHEN %s = 'closed' "
                "THEN greatest(now(), created_at) END WHERE code = %s",
                (value, value, code),
            )
            cur.execute(
                "SELECT pg_notify('onemap_live', json_build_object('kind', 'event', 'code', code, "
                "'status', status, 'lon', ST_X(geom), 'lat', ST_Y(geom))::text) "
                "FROM events WHERE code = %s",
                (code,),
            )
        conn.close()

    try:
        set_status("closed")
        want = before["counts"]["events"] - 1
        page.wait_for_function(
            f"onemapConsole.stats().counts.events === {want} && "
            f"onemapConsole.stats().counts.events_total === {want}",
            timeout=20_000,
        )
        after = console.stats()
        tiles = page.evaluate("OnemapConsole.events.tiles.refreshedTiles")
        # only the tiles holding the case were asked again (a point may sit in a corner)
        assert 1 <= tiles - refreshed <= 4
        assert after["tiles"]["events"]["redraws"] == before["tiles"]["events"]["redraws"]
    finally:
        set_status(status)
    # (signed out, the dispatch panel's own reads on the live event are 401s: not ours)
    assert [e for e in console.stats()["errors"] if "events" in e] == []
