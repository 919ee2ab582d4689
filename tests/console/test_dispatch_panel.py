"""The console's dispatch panel in headless Chromium against `live_server`: a dispatcher signs in,
an event submitted by API during the test appears in the queue without a reload (the live
stream), the dispatcher opens it and re-dispatches it, and the timeline shows the step."""

from __future__ import annotations

import secrets

import httpx
import psycopg2
import pytest

from gis_server.auth import Role, store
from layers import duty
from tests.console.conftest import open_console

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def dispatcher(console_dsn: str) -> dict[str, str]:
    name = f"dp-disp-{secrets.token_hex(3)}"
    with psycopg2.connect(console_dsn) as conn:
        store.add_user(conn, name, Role.DISPATCHER, PASSWORD)
        _, key, _ = store.issue_key(conn, name, "test")
        with conn.cursor() as cur:
            cur.execute("SELECT g.code, r.category, d.code FROM grids g, duty_rules r, departments d "
                        "WHERE g.valid_to IS NULL AND g.grid_type = 'comprehensive' AND r.town_code IS NULL "
                        "AND r.subcategory IS NULL AND d.code <> r.department_code "
                        "ORDER BY g.code, r.id, d.code LIMIT 1")  # fmt: skip
            grid, category, other_dept = cur.fetchone()
    conn.close()
    return {"name": name, "key": key, "grid": grid, "category": category, "dept": other_dept}


def test_dispatcher_sees_a_new_event_live_and_dispatches_it(
    browser, console_url, dispatcher
) -> None:
    session = open_console(browser, console_url)
    page = session.page
    try:
        assert page.locator("#oc-dispatch").count() == 0  # not for anonymous users
        page.click("#oc-login-btn")
        page.fill("#oc-login-user", dispatcher["name"])
        page.fill("#oc-login-pass", PASSWORD)
        page.click("#oc-login-panel button[type=submit]")
        page.wait_for_selector("#oc-dispatch #oc-dlist li[data-code]")
        page.wait_for_function("onemapConsole.stats().live.connected")
        page.wait_for_function("onemapConsole.stats().charts.drawn > 0")  # ECharts, vendored
        summary = page.evaluate("onemapConsole.stats().charts.summary")
        assert summary["days"] > 0 and summary["categories"] > 0 and summary["towns"] > 0
        assert 0 <= summary["onTimeRate"] <= 100
        assert page.locator("#oc-charts canvas").count() == 4
        page.click("#oc-dq button[data-queue=manual]")  # no duty rule matches the test's category
        page.wait_for_selector("#oc-dq button.oc-on[data-queue=manual]")
        before = page.evaluate("onemapConsole.stats().dispatch")
        api = httpx.Client(
            base_url=console_url, headers={"Authorization": f"Bearer {dispatcher['key']}"}
        )
        r = api.post("/api/events", json={"source": "centre", "category": f"面板测试{secrets.token_hex(3)}",
                                          "description": "面板测试", "location": {"grid_code": dispatcher["grid"]}})  # fmt: skip
        assert r.status_code == 201, r.text
        code = r.json()["code"]
        page.wait_for_selector(
            f"#oc-dlist li[data-code='{code}']"
        )  # no reload, no poll: the stream
        after = page.evaluate("onemapConsole.stats().dispatch")
        assert after["liveUpdates"] > before["liveUpdates"]
        assert after["counts"]["manual"] >= before["counts"]["manual"] + 1
        page.click(f"#oc-dlist li[data-code='{code}']")
        page.wait_for_selector(f"#oc-ddetail[data-code='{code}'] button[data-act=dispatch]")
        page.select_option("#oc-ddetail select[name=department]", dispatcher["dept"])
        page.fill("#oc-ddetail input[name=note]", "改派测试")
        page.click("#oc-ddetail button[data-act=dispatch]")
        page.wait_for_selector("#oc-ddetail .oc-dtimeline li[data-action=dispatch]")
        assert "改派测试" in page.inner_text("#oc-ddetail .oc-dtimeline")
        detail = api.get(f"/api/events/{code}").json()
        assert detail["department_code"] == dispatcher["dept"] and detail["version"] == 2
        stale = page.evaluate(
            "([c, v]) => onemapConsole.auth.send('POST', `/api/events/${c}/actions`, "
            "{action: 'escalate', note: 'x', expected_version: v})",
            [code, 1],
        )
        assert stale["status"] == 412
        unexpected = [e for e in session.errors() if "status of 412" not in e]  # the stale probe's
        assert not unexpected and not session.foreign_requests()
    finally:
        page.close()


def _user(dsn: str, role: Role, prefix: str) -> tuple[str, str]:
    name = f"{prefix}-{secrets.token_hex(3)}"
    with psycopg2.connect(dsn) as conn:
        store.add_user(conn, name, role, PASSWORD)
        _, key, _ = store.issue_key(conn, name, "test")
    conn.close()
    return name, key


def _drop(dsn: str, users: list[str], category: str | None = None) -> None:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        if category:
            cur.execute("DELETE FROM events WHERE category = %s", (category,))
        cur.execute("DELETE FROM users WHERE username = ANY(%s)", (users,))
    conn.close()


def _sign_in(page, name: str) -> None:  # noqa: ANN001
    page.click("#oc-login-btn")
    page.fill("#oc-login-user", name)
    page.fill("#oc-login-pass", PASSWORD)
    page.click("#oc-login-panel button[type=submit]")
    page.wait_for_function(
        "onemapConsole.stats().dispatch && onemapConsole.stats().dispatch.visible "
        "&& onemapConsole.stats().dispatch.counts.new !== undefined"
    )


def test_a_queue_pages_past_the_first_30(browser, console_url, console_dsn, dispatcher) -> None:
    category = f"分页测试{secrets.token_hex(3)}"  # no duty rule: all go to the manual queue
    api = httpx.Client(
        base_url=console_url, headers={"Authorization": f"Bearer {dispatcher['key']}"}
    )
    for i in range(65):
        r = api.post("/api/events", json={"source": "centre", "category": category,
                                          "location": {"grid_code": dispatcher["grid"]}})  # fmt: skip
        assert r.status_code == 201, (i, r.text)
    total = api.get("/api/events?queue=manual&limit=1").json()["total"]
    assert total >= 65
    session = open_console(browser, console_url)
    page = session.page
    try:
        _sign_in(page, dispatcher["name"])
        page.click("#oc-dq button[data-queue=manual]")
        page.wait_for_function("onemapConsole.stats().dispatch.queue === 'manual' && "
                               "onemapConsole.stats().dispatch.codes.length === 30")  # fmt: skip
        assert page.locator("#oc-dlist li[data-code]").count() == 30
        assert page.inner_text("#oc-dpage span") == f"30 / {total}"
        page.click("#oc-dmore")
        page.wait_for_function("onemapConsole.stats().dispatch.codes.length === 60")
        page.click("#oc-dmore")
        shown = min(total, 90)
        page.wait_for_function(f"onemapConsole.stats().dispatch.codes.length === {shown}")
        codes = page.evaluate("onemapConsole.stats().dispatch.codes")
        assert len(set(codes)) == shown  # pages do not repeat rows
        newest = api.get(f"/api/events?queue=manual&limit={shown}").json()["events"]
        assert codes == [e["code"] for e in newest]  # the server's order, newest first
        assert page.is_visible("#oc-dmore") == (total > shown)
        assert not session.errors() and not session.foreign_requests()
    finally:
        page.close()
        _drop(console_dsn, [], category)


def _overlap(a: dict, b: dict) -> bool:
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])  # fmt: skip


# Every control of the grid-editing panel is hit by a click at its centre (nothing lies on it).
EDIT_TOOLS_FREE = """() => [...document.querySelectorAll('#oc-edit-panel button, #oc-edit-panel input')]
  .filter((el) => el.offsetParent !== null)
  .map((el) => { const r = el.getBoundingClientRect();
                 const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
                 return [el.id, !!hit && (hit === el || el.contains(hit))]; })"""


@pytest.mark.parametrize("role", [Role.GIS_EDITOR, Role.ADMIN])
@pytest.mark.parametrize("size", [(1920, 1080), (1366, 768)])
def test_editors_get_the_panel_beside_the_editing_tools(
    browser, console_url, console_dsn, role, size
) -> None:
    name, _ = _user(console_dsn, role, "dp-edit")
    session = open_console(browser, console_url, *size)
    page = session.page
    try:
        _sign_in(page, name)
        page.wait_for_selector("#oc-edit-panel:not([hidden])")
        assert page.is_visible("#oc-dispatch")
        # folded for a GIS editor (the map is their work), open for an admin (who also dispatches)
        assert page.evaluate("onemapConsole.stats().dispatch.folded") == (role == Role.GIS_EDITOR)
        if role == Role.GIS_EDITOR:
            page.click("#oc-dfold")
        page.wait_for_selector("#oc-dispatch #oc-dlist li")
        assert not page.evaluate("onemapConsole.stats().dispatch.folded")
        if role == Role.ADMIN:
            page.wait_for_function("onemapConsole.stats().charts.drawn > 0")
        edit = page.locator("#oc-edit-panel").bounding_box()
        for sel in ("#oc-dispatch", "#oc-charts"):
            if page.locator(sel).count() and page.is_visible(sel):
                box = page.locator(sel).bounding_box()
                assert not _overlap(box, edit), (sel, box, edit)
        tools = page.evaluate(EDIT_TOOLS_FREE)
        assert tools and all(free for _, free in tools), tools
        page.click("#oc-edit-pick")  # and a click really reaches it
        page.wait_for_function(
            "document.querySelector('#oc-edit-pick').classList.contains('oc-active')"
        )
        assert not session.errors() and not session.foreign_requests()
    finally:
        page.close()
        _drop(console_dsn, [name])


def test_the_detail_lists_a_worker_on_duty_nearby(
    browser, console_url, console_dsn, dispatcher
) -> None:
    """A grid worker on duty 30 m from an event is in its nearby resources: name, distance,
    the phone of the grid they keep (a dispatcher may see it) and when they were last heard."""
    category = f"在岗测试{secrets.token_hex(3)}"  # no duty rule: the manual queue
    api = httpx.Client(
        base_url=console_url, headers={"Authorization": f"Bearer {dispatcher['key']}"}
    )
    r = api.post("/api/events", json={"source": "centre", "category": category,
                                      "location": {"grid_code": dispatcher["grid"]}})  # fmt: skip
    assert r.status_code == 201, r.text
    event = r.json()
    name = f"dp-gw-{secrets.token_hex(3)}"
    display = f"测试网格员{secrets.token_hex(2)}"
    with psycopg2.connect(console_dsn) as conn, conn.cursor() as cur:
        uid = store.add_user(conn, name, Role.GRID_WORKER, PASSWORD, display)
        cur.execute("SELECT code, worker_phone FROM grids WHERE valid_to IS NULL "
                    "AND worker_phone IS NOT NULL ORDER BY code LIMIT 1")  # fmt: skip
        grid, phone = cur.fetchone()
        cur.execute("INSERT INTO user_grids (user_id, grid_code) VALUES (%s, %s)", (uid, grid))
        cur.execute("SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Project(ST_Point(%s, %s, 4326)"
                    "::geography, 30, radians(90))::geometry AS p) s", (event["lon"], event["lat"]))  # fmt: skip
        lon, lat = cur.fetchone()
        duty.start(cur, uid, 30)
        duty.report(cur, uid, lon, lat, 5.0)
    conn.close()
    session = open_console(browser, console_url)
    page = session.page
    try:
        _sign_in(page, dispatcher["name"])
        page.click("#oc-dq button[data-queue=manual]")
        page.click(f"#oc-dlist li[data-code='{event['code']}']")
        row = page.wait_for_selector(
            f"#oc-ddetail[data-code='{event['code']}'] .oc-donduty[data-user='{name}']"
        )
        text = row.inner_text()
        assert display in text and phone in text and "最近定位" in text, text
        distance = int(text.split(display)[1].split(" m")[0])
        assert 25 <= distance <= 35, text  # the 30 m it was put at, as the server measured it
        near = api.get(f"/api/events/{event['code']}/nearby").json()["workers_on_duty"]
        shown = page.eval_on_selector_all(
            "#oc-ddetail .oc-donduty", "els => els.map((e) => e.dataset.user)"
        )
        assert shown == [
            w["username"] for w in near
        ]  # all of them, nearest first, as the server gave
        assert not session.errors() and not session.foreign_requests()
    finally:
        page.close()
        _drop(console_dsn, [name], category)
