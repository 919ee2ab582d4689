"""The console's dispatch panel in headless Chromium against `live_server`: a dispatcher signs in,
an event submitted by API during the test appears in the queue without a reload (the live
stream), the dispatcher opens it and re-dispatches it, and the timeline shows the step."""

from __future__ import annotations

import secrets

import httpx
import psycopg2
import pytest

from gis_server.auth import Role, store
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
