"""The phone page /m/ at 390×844 in headless Chromium against `live_server`: a grid worker signs
in, sees the task, accepts it, reports it done with a photo, a note and the phone's location;
the event is resolved and the dispatcher gets the photo without its EXIF."""

from __future__ import annotations

import io
import secrets

import httpx
import psycopg2
import pytest
from PIL import Image

from gis_server.auth import Role, store
from layers.dispatch.scope import set_scope
from tests.dispatch.test_photos import GPS_IFD, jpeg_with_gps
from tests.helpers import fetch_one

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def people(console_dsn: str) -> dict[str, str]:
    """A grid worker of one demo grid (username) and a dispatcher's API key; the grid and a
    category a district-wide duty rule dispatches."""
    grid, category = fetch_one(console_dsn, "SELECT g.code, r.category FROM grids g, duty_rules r "
                          "WHERE g.valid_to IS NULL AND g.grid_type = 'comprehensive' AND "
                          "r.town_code IS NULL AND r.subcategory IS NULL ORDER BY g.code, r.id LIMIT 1")  # fmt: skip
    worker = f"m-worker-{secrets.token_hex(3)}"
    dispatcher = f"m-disp-{secrets.token_hex(3)}"
    with psycopg2.connect(console_dsn) as conn:
        store.add_user(conn, worker, Role.GRID_WORKER, PASSWORD)
        store.add_user(conn, dispatcher, Role.DISPATCHER, PASSWORD)
        with conn.cursor() as cur:
            set_scope(cur, worker, None, [grid])
        _, key, _ = store.issue_key(conn, dispatcher, "test")
    conn.close()
    return {"worker": worker, "key": key, "grid": grid, "category": category}


def test_grid_worker_accepts_and_reports_done_with_a_photo(
    browser, console_url, console_dsn, people
) -> None:
    api = httpx.Client(base_url=console_url, headers={"Authorization": f"Bearer {people['key']}"})
    r = api.post("/api/events", json={"source": "centre", "category": people["category"],
                                      "description": "移动端测试", "location": {"grid_code": people["grid"]}})  # fmt: skip
    assert r.status_code == 201 and r.json()["status"] == "dispatched", r.text
    code = r.json()["code"]
    context = browser.new_context(viewport={"width": 390, "height": 844}, geolocation={
        "longitude": 121.2, "latitude": 31.9, "accuracy": 8}, permissions=["geolocation"])  # fmt: skip
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{console_url}/m/")
        page.wait_for_selector("#m-login-form", state="visible")
        page.fill("#m-username", people["worker"])
        page.fill("#m-password", PASSWORD)
        page.click("#m-login-form button[type=submit]")
        page.click(f"#m-list li[data-code='{code}']")
        page.click("#m-actions button[data-action=accept]")
        page.wait_for_selector("#m-done-form", state="visible")
        assert (
            fetch_one(console_dsn, "SELECT status FROM events WHERE code = %s", (code,))[0]
            == "accepted"
        )
        page.fill("#m-done-note", "已清理完毕")
        page.set_input_files("#m-done-photo", files=[{"name": "scene.jpg", "mimeType": "image/jpeg",
                                                       "buffer": jpeg_with_gps()}])  # fmt: skip
        page.click("#m-done-form button[type=submit]")
        page.wait_for_function(
            "document.getElementById('m-task-msg').textContent.includes('已办结')"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
        assert not errors
    finally:
        context.close()
    detail = api.get(f"/api/events/{code}").json()
    assert detail["status"] == "resolved"
    resolve = [s for s in detail["timeline"] if s["action"] == "resolve"][-1]
    assert "已清理完毕" in resolve["note"] and "121.200000,31.900000" in resolve["note"]
    photo = api.get(detail["photos"][-1])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    im = Image.open(io.BytesIO(photo.content))
    assert not im.getexif().get_ifd(GPS_IFD) and "exif" not in im.info
    assert httpx.get(f"{console_url}{detail['photos'][-1]}").status_code == 401
