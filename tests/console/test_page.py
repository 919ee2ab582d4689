"""The console page loads offline, draws every default layer, and looks like a big screen."""

from __future__ import annotations

from gis_server.settings import PROJECT_DIR

ARTIFACTS = PROJECT_DIR / "test-artifacts"


def test_loads_without_errors_or_foreign_requests(console) -> None:
    assert console.errors() == []
    assert console.foreign_requests() == []
    assert console.stats()["errors"] == []


def test_every_default_layer_is_drawn_with_all_features(console, sql) -> None:
    stats = console.stats()
    counts = stats["counts"]
    assert set(stats["on"]) >= {
        "towns",
        "grids",
        "cameras",
        "vehicles",
        "river_patrol_zones",
        "events",
    }
    assert counts["towns"] == sql("SELECT count(*) FROM towns")
    assert counts["grids"] == sql("SELECT count(*) FROM grids WHERE valid_to IS NULL")
    assert counts["river_patrol_zones"] == sql("SELECT count(*) FROM river_patrol_zones")
    assert counts["cameras"] == sql("SELECT count(*) FROM cameras")
    assert counts["vehicles"] == sql("SELECT count(*) FROM vehicles WHERE geom IS NOT NULL")
    assert counts["events_total"] == sql("SELECT count(*) FROM events WHERE status <> 'closed'")
    assert counts["events"] == min(counts["events_total"], 50000)
    assert stats["basemap"] == "offline" and stats["variant"] == "wgs84"


def test_drawn_on_canvas_and_clustered(console) -> None:
    page = console.page
    # Polygons are on the canvas renderer; cameras and cases on canvas tiles in their own
    # panes (vector tiles), clustered at the district's zoom.
    assert page.locator("canvas.leaflet-zoom-animated").count() >= 1
    for layer in ("cameras", "events"):
        assert page.locator(f".leaflet-oc-mvt-{layer}-pane canvas.leaflet-tile").count() > 0
        assert console.stats()["tiles"][layer]["clusters"] > 0
    assert page.locator(".oc-veh").count() > 0
    assert page.locator("#oc-town-table tbody tr").count() >= 1


def test_heatmap_toggle_and_event_filters(console, sql) -> None:
    page = console.page
    page.check("input[data-layer=events_heat]")
    assert "events_heat" in console.stats()["on"]
    page.evaluate("window.onemapConsole.events.setFilter({status: ['closed'], window: '7d'})")
    expected = sql(
        "SELECT count(*) FROM events WHERE status = 'closed' AND created_at >= now() - interval '7 days'"
    )
    page.wait_for_function(f"window.onemapConsole.stats().counts.events_total === {expected}")
    assert console.stats()["counts"]["heat_points"] == min(expected, 50000)


def test_vehicles_and_stats_refresh_by_themselves(console) -> None:
    """Vehicles either ride the live stream (no polling while it is open) or poll."""
    before = console.stats()
    console.page.wait_for_function(
        "(s => s.live.connected || s.vehicleRefreshes > "
        f"{before['vehicleRefreshes']})(window.onemapConsole.stats())",
        timeout=20_000,
    )


def test_screenshots_dark_and_legible(browser, console_url) -> None:
    from tests.console.conftest import open_console

    ARTIFACTS.mkdir(exist_ok=True)
    for name, (w, h) in {"console.png": (1920, 1080), "console-4k.png": (3840, 2160)}.items():
        session = open_console(browser, console_url, w, h)
        page = session.page
        page.wait_for_function("document.fonts.status === 'loaded'")  # CJK title laid out
        page.screenshot(path=str(ARTIFACTS / name))
        bg = page.evaluate(
            "getComputedStyle(document.querySelector('.leaflet-container')).backgroundColor"
        )
        title_px = page.evaluate(
            "parseFloat(getComputedStyle(document.querySelector('.oc-title .oc-zh')).fontSize)"
        )
        page.close()
        assert bg.startswith("rgb(") and sum(int(x) for x in bg[4:-1].split(",")) < 150  # dark
        assert title_px >= 0.012 * w  # type grows with the screen
