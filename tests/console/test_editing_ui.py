"""Grid editing in the console, in headless Chromium against `live_server`: login and roles,
split, a violating reshape (red violations, nothing written), merge, history.

The edits run on town T9 (four 100 m squares, see tests/editing/conftest.py), built in the
test database and removed afterwards, so the demo grids other tests count stay untouched.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from gis_server.auth import Role, store
from gis_server.settings import PROJECT_DIR
from tests.console.conftest import open_console
from tests.editing.conftest import SQUARES, TOWN, X0, Y0, envelope_sql

PASSWORD = "correct horse battery"


def _run(dsn: str, query: str, params: tuple | None = None) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        rows = cur.fetchall() if cur.description else []
    conn.close()
    return rows


def _clear(dsn: str) -> None:
    for table in ("events", "cameras", "grids"):
        _run(dsn, f"DELETE FROM {table} WHERE code LIKE 'T9-%'")
    _run(dsn, "DELETE FROM towns WHERE code = %s", (TOWN,))


@pytest.fixture()
def t9(console_dsn: str) -> Iterator[str]:
    """Town T9 with grids A (SW), B (SE), C (NW), D (NE) and a camera in A; removed after."""
    _clear(console_dsn)
    for code, (x, y) in SQUARES.items():
        _run(
            console_dsn,
            "INSERT INTO grids (code, name, town_code, grid_type, population, version, valid_from, "
            f"geom) VALUES (%s, %s, %s, 'comprehensive', 100, 1, '2020-01-01T00:00+08', "
            f"{envelope_sql(x, y, x + 100, y + 100)})",
            (code, f"网格{code[-1]}", TOWN),
        )
    _run(
        console_dsn,
        "INSERT INTO towns (code, name, kind, geom) SELECT %s, '测试镇', 'town', "
        "ST_Multi(ST_Union(geom)) FROM grids WHERE code LIKE 'T9-%%'",
        (TOWN,),
    )
    _run(
        console_dsn,
        "INSERT INTO cameras (code, name, kind, grid_code, town_code, geom) VALUES ('T9-CAM1', "
        "'T9-CAM1', 'xueliang', 'T9-A', %s, "
        "ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), 4549), 4326))",
        (TOWN, X0 + 20, Y0 + 50),
    )
    yield console_dsn
    _clear(console_dsn)


@pytest.fixture(scope="module")
def users(console_dsn: str) -> dict[str, str]:
    """A gis_editor and a viewer (made through the same store the CLI uses)."""
    out = {}
    with psycopg2.connect(console_dsn) as conn:
        for role in (Role.GIS_EDITOR, Role.VIEWER):
            name = f"ui-{role.label.replace('_', '-')}-{secrets.token_hex(3)}"
            store.add_user(conn, name, role, PASSWORD)
            out[role.label] = name
    conn.close()
    return out


def _lonlat(dsn: str, x: float, y: float) -> list[float]:
    """Town metres (EPSG:4549 offsets from X0, Y0) → [lon, lat]."""
    return list(
        _run(
            dsn,
            "SELECT ARRAY[ST_X(p), ST_Y(p)] FROM ST_Transform(ST_SetSRID(ST_MakePoint(%s, %s), "
            "4549), 4326) p",
            (X0 + x, Y0 + y),
        )[0][0]
    )


def _login(session, username: str) -> None:
    page = session.page
    page.click("#oc-login-btn")
    page.fill("#oc-login-user", username)
    page.fill("#oc-login-pass", PASSWORD)
    page.click("#oc-login-panel button[type=submit]")
    page.wait_for_function("onemapConsole.stats().user !== null")


def _select(page, *codes: str) -> None:
    for code in codes:
        page.evaluate("c => onemapConsole.editing.select(c)", code)
    page.evaluate(
        "() => { onemapConsole.map.fitBounds(onemapConsole.editing.selLayer.getBounds().pad(0.6)); }"
    )


def _draw_line(page, points: list[list[float]]) -> None:
    """Draw with Geoman as a user would: a map click per vertex, the last one clicked twice."""
    for lon, lat in [*points, points[-1]]:
        page.evaluate(
            "([lon, lat]) => { onemapConsole.map.fire('click', {latlng: L.latLng(lat, lon)}); }",
            [lon, lat],
        )


def _versions(dsn: str) -> list[tuple]:
    return _run(
        dsn,
        "SELECT code, version, valid_to IS NULL FROM grids WHERE code LIKE 'T9-%' ORDER BY 1, 2",
    )


def _unexpected_errors(session) -> list[str]:
    """Console errors, except the browser's own log line for the 409 a violating check gets."""
    return [e for e in session.errors() if "the server responded with a status of 409" not in e]


def test_viewer_sees_no_tools_editor_does(browser, console_url, users) -> None:
    session = open_console(browser, console_url)
    page = session.page
    try:
        assert page.is_hidden("#oc-edit-panel") and page.is_visible("#oc-login-btn")
        _login(session, users["viewer"])
        assert "查看" in page.inner_text("#oc-user") and page.is_hidden("#oc-edit-panel")
        page.click("#oc-logout-btn")
        page.wait_for_function("onemapConsole.stats().user === null")
        _login(session, users["gis_editor"])
        assert "GIS 编辑" in page.inner_text("#oc-user")
        assert page.is_visible("#oc-edit-panel") and page.is_visible("#oc-edit-split")
        # a reload restores the session (cookie + CSRF token from /api/auth/me)
        page.reload()
        page.wait_for_function("window.onemapConsole && onemapConsole.ready")
        page.wait_for_function("onemapConsole.stats().user !== null")
        assert page.is_visible("#oc-edit-panel")
        page.click("#oc-logout-btn")
        page.wait_for_function("onemapConsole.stats().user === null")
        assert page.is_hidden("#oc-edit-panel")
        assert session.errors() == [] and session.foreign_requests() == []
    finally:
        page.close()


def test_split_violating_reshape_merge_and_history(browser, console_url, users, t9) -> None:
    dsn = t9
    session = open_console(browser, console_url)
    page = session.page
    try:
        _login(session, users["gis_editor"])

        # split A by a north–south line at x = 30 into T9-A1 / T9-A2
        _select(page, "T9-A")
        page.fill("#oc-edit-newcodes", "T9-A1, T9-A2")
        page.click("#oc-edit-split")
        _draw_line(page, [_lonlat(dsn, 30, -5), _lonlat(dsn, 30, 105)])
        page.wait_for_function("onemapConsole.stats().editing.checked === true")
        assert _versions(dsn)[0] == ("T9-A", 1, True)  # the check wrote nothing
        page.click("#oc-edit-save")
        page.wait_for_function("onemapConsole.stats().editing.lastResult !== null")
        assert ("T9-A", 1, False) in _versions(dsn)
        assert ("T9-A1", 1, True) in _versions(dsn) and ("T9-A2", 1, True) in _versions(dsn)
        assert "T9-A1" in page.inner_text("#oc-edit-msg")
        codes = page.evaluate("OnemapConsole.areas.data.grids.features.map(f => f.id)")
        assert {"T9-A1", "T9-A2"} <= set(codes) and "T9-A" not in codes

        # a violating reshape: B's vertices moved over D → red violations, nothing written
        before = _versions(dsn)
        page.click("#oc-edit-clear")
        _select(page, "T9-B")
        page.click("#oc-edit-vertices")
        bigger = [
            _lonlat(dsn, x, y) for x, y in ((100, 0), (200, 0), (200, 160), (100, 160), (100, 0))
        ]
        page.evaluate(
            "ring => { onemapConsole.editing.shape.setLatLngs([ring.map(([x, y]) => L.latLng(y, x))]); }",
            bigger,
        )
        page.click("#oc-edit-check")
        page.wait_for_function("onemapConsole.stats().editing.violations > 0")
        assert page.is_disabled("#oc-edit-save")
        assert "重叠" in page.inner_text("#oc-edit-violations") or page.inner_text(
            "#oc-edit-violations"
        )
        red = page.evaluate(
            "onemapConsole.editing.violationLayer.getLayers()"
            ".flatMap(g => g.getLayers()).map(l => l.options.color)"
        )
        assert red and set(red) == {"#ff3b30"}
        artifacts = PROJECT_DIR / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(Path(artifacts) / "console-editing.png"))
        assert _versions(dsn) == before
        page.click("#oc-edit-cancel")

        # merge C and D into T9-C
        page.click("#oc-edit-clear")
        _select(page, "T9-C", "T9-D")
        page.fill("#oc-edit-into", "T9-C")
        page.click("#oc-edit-merge")
        page.wait_for_function("onemapConsole.stats().editing.checked === true")
        page.click("#oc-edit-save")
        page.wait_for_function(
            "(onemapConsole.stats().editing.lastResult || {}).closed?.length === 2"
        )
        assert ("T9-C", 2, True) in _versions(dsn) and ("T9-D", 1, False) in _versions(dsn)
        # the camera (x = 20) went with the split to T9-A2, the smaller west part (largest first)
        assert _run(dsn, "SELECT grid_code FROM cameras WHERE code = 'T9-CAM1'")[0][0] == "T9-A2"

        # history of T9-C shows both versions, with a restore button on v1
        page.click("#oc-edit-history")
        page.wait_for_selector(".oc-hist")
        text = page.inner_text("#oc-edit-hist")
        assert "v2" in text and "v1" in text and page.locator(".oc-restore").count() == 1

        assert _unexpected_errors(session) == []
        assert session.foreign_requests() == []
    finally:
        page.close()
