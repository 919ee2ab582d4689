"""Grid workers on duty, end to end in headless Chromium on a server of its own (reports
every 10 s): a worker goes on duty on the phone page (geolocation set by Playwright's
CDP override), its positions reach PostGIS and move its marker on a dispatcher's
console over /api/live; a silent worker is grey; 下岗 stops the reports and takes the
marker off."""

from __future__ import annotations

import secrets

import psycopg2
import pytest

from gis_server.auth import Role, store
from tests.helpers import fetch_one

PASSWORD = "correct horse battery"
FIRST, SECOND = (121.25, 31.93), (121.262, 31.935)


@pytest.fixture(scope="module")
def server(demo_db):
    from tests.helpers import onemap_serve

    env = {"DATABASE_URL": demo_db, "ONEMAP_DISPATCH__DUTY__REPORT_EVERY_S": "10"}
    with onemap_serve(env, "duty_ui_server.log") as (base, _port):
        yield base


@pytest.fixture(scope="module")
def people(demo_db):
    tag = secrets.token_hex(3)
    names = {"worker": f"duty-w-{tag}", "silent": f"duty-s-{tag}", "boss": f"duty-d-{tag}"}
    with psycopg2.connect(demo_db) as conn:
        store.add_user(conn, names["worker"], Role.GRID_WORKER, PASSWORD, display_name="张网格")
        store.add_user(conn, names["silent"], Role.GRID_WORKER, PASSWORD, display_name="李网格")
        store.add_user(conn, names["boss"], Role.DISPATCHER, PASSWORD)
        with conn.cursor() as cur:  # on duty, last heard of 20 minutes ago
            cur.execute(
                "WITH u AS (SELECT id FROM users WHERE username = %s), d AS ("
                "INSERT INTO worker_duties (user_id, started_at) "
                "SELECT id, now() - interval '1 hour' FROM u RETURNING id, user_id) "
                "INSERT INTO worker_locations (user_id, duty_id, fix_time, geom) "
                "SELECT user_id, id, now() - interval '20 minutes', ST_Point(121.24, 31.92, 4326) "
                "FROM d",
                (names["silent"],),
            )
    conn.close()
    yield names
    with psycopg2.connect(demo_db) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM users WHERE username = ANY(%s)", (list(names.values()),))
    conn.close()


def positions(dsn: str, username: str) -> int:
    return fetch_one(dsn, "SELECT count(*) FROM worker_positions p JOIN users u ON u.id = p.user_id "
                "WHERE u.username = %s", (username,))[0]  # fmt: skip


def marker_at(page, username: str, lonlat: tuple[float, float]) -> None:
    page.wait_for_function(
        "([u, lon, lat]) => { const m = window.OnemapConsole.workers.markers[u];"
        " return m && Math.abs(m.getLatLng().lng - lon) < 1e-6 && Math.abs(m.getLatLng().lat - lat) < 1e-6; }",
        arg=[username, *lonlat],
        timeout=30_000,
    )


def test_worker_on_duty_moves_on_the_console_and_stops_off_duty(browser, server, demo_db, people):
    errors: list[str] = []
    desk = browser.new_context(viewport={"width": 1600, "height": 900})
    phone = browser.new_context(viewport={"width": 390, "height": 844}, permissions=["geolocation"],
                                geolocation={"longitude": FIRST[0], "latitude": FIRST[1], "accuracy": 9})  # fmt: skip
    try:
        console = desk.new_page()
        console.on("pageerror", lambda e: errors.append(str(e)))
        console.goto(f"{server}/console")
        console.wait_for_function(
            "window.onemapConsole && window.onemapConsole.ready", timeout=60_000
        )
        console.click("#oc-login-btn")
        console.fill("#oc-login-user", people["boss"])
        console.fill("#oc-login-pass", PASSWORD)
        console.click("#oc-login-panel button[type=submit]")
        console.wait_for_function(
            "window.OnemapConsole.live.connected && window.OnemapConsole.live.workers"
        )
        console.wait_for_function(
            "u => { const m = window.OnemapConsole.workers.markers[u];"
            " return m && m.getElement().classList.contains('oc-worker-offline'); }",
            arg=people["silent"],
        )

        m = phone.new_page()
        m.on("pageerror", lambda e: errors.append(str(e)))
        m.goto(f"{server}/m/")
        m.fill("#m-username", people["worker"])
        m.fill("#m-password", PASSWORD)
        m.click("#m-login-form button[type=submit]")
        m.wait_for_selector("#m-duty", state="visible")
        assert m.evaluate("document.body.dataset.duty") == "off"
        assert positions(demo_db, people["worker"]) == 0  # signed in, not on duty: nothing
        m.click("#m-duty-toggle")
        m.wait_for_function("document.body.dataset.duty === 'on'")
        marker_at(console, people["worker"], FIRST)
        assert console.evaluate(
            "u => !window.OnemapConsole.workers.markers[u].getElement()"
            ".classList.contains('oc-worker-offline')", people["worker"])  # fmt: skip
        row = console.inner_text("#oc-fleet-table tr[data-row=workers]")
        assert row.split()[1:] == ["1", "1"]  # one online (the worker), one offline (silent)

        phone.set_geolocation({"longitude": SECOND[0], "latitude": SECOND[1], "accuracy": 9})
        marker_at(console, people["worker"], SECOND)  # the next report, report_every_s later
        assert positions(demo_db, people["worker"]) >= 2

        m.click("#m-duty-toggle")
        m.wait_for_function("document.body.dataset.duty === 'off'")
        assert m.evaluate("window.OnemapMobile.duty.timer") is None
        console.wait_for_function(
            "u => !window.OnemapConsole.workers.markers[u]", arg=people["worker"]
        )
        after = fetch_one(demo_db, "SELECT count(*) FROM worker_positions p JOIN worker_duties d "
                     "ON d.id = p.duty_id JOIN users u ON u.id = p.user_id WHERE u.username = %s "
                     "AND p.fix_time > d.ended_at", (people["worker"],))[0]  # fmt: skip
        assert after == 0
        assert not errors
    finally:
        desk.close()
        phone.close()
