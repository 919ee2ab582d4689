"""The console for one district or the whole city (issue 16), on the three-district demo
(tests/demo/districts_db.py) served by a real `onemap serve`.

API: every console body keeps to `?district=`; a district-scoped user's bodies keep to
theirs whatever the URL says; a bad code is a 400 naming `district`. Browser (headless
Chromium): the city view draws features of several districts and their boundaries,
`?district=320681` only 启东's, fitted to it, with the vector tiles filtered by district.
"""

# ruff: noqa: F811 - the districts_db fixture is imported, then named as a parameter
from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import psycopg2
import pytest

from gis_server.auth import Role, store
from layers.dispatch.scope import set_district
from tests.console.conftest import ConsoleSession
from tests.demo.districts_db import districts_db  # noqa: F401 - fixture

QD, HM = "320681", "320614"


@pytest.fixture(scope="module")
def served(districts_db: str) -> Iterator[str]:  # noqa: F811
    from tests.helpers import onemap_serve

    with onemap_serve({"DATABASE_URL": districts_db}, "districts_server.log") as (base, _port):
        yield base


@pytest.fixture(scope="module")
def qidong_key(districts_db: str) -> dict[str, str]:  # noqa: F811
    name = f"qd-viewer-{secrets.token_hex(3)}"
    with psycopg2.connect(districts_db) as conn:
        store.add_user(conn, name, Role.DISPATCHER, "correct horse battery")
        with conn.cursor() as cur:
            set_district(cur, name, QD)
        _, key, _ = store.issue_key(conn, name, "test")
    conn.close()
    return {"Authorization": f"Bearer {key}"}


def _count(dsn: str, query: str, params: tuple = ()) -> int:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        n = cur.fetchone()[0]
    conn.close()
    return n


def _districts_of(base: str, path: str, headers: dict | None = None, **params: str) -> set[str]:
    r = httpx.get(f"{base}/api/console/{path}", params=params, headers=headers or {}, timeout=60)
    assert r.status_code == 200, r.text
    return {f["properties"]["district_code"] for f in r.json()["features"]}


def test_layer_bodies_keep_to_the_district(served: str, districts_db: str) -> None:  # noqa: F811
    for path in ("layers/towns", "layers/grids", "layers/river_patrol_zones"):
        assert _districts_of(served, path) == {HM, QD, "320612"}, path
        assert _districts_of(served, path, district=QD) == {QD}, path
    cams = httpx.get(f"{served}/api/console/layers/cameras", params={"district": QD}).json()
    assert len(cams["rows"]) == _count(
        districts_db, "SELECT count(*) FROM cameras WHERE district_code = %s", (QD,)
    )
    assert all(r[0].startswith(QD) for r in cams["rows"])
    vehicles = httpx.get(f"{served}/api/console/layers/vehicles", params={"district": QD}).json()
    assert vehicles["rows"] and all(r[0].startswith("QD-") for r in vehicles["rows"])


def test_figures_count_the_district(served: str, districts_db: str) -> None:  # noqa: F811
    events = httpx.get(f"{served}/api/console/events", params={"district": QD, "status": "all",
                                                             "limit": 1}).json()  # fmt: skip
    assert events["total"] == _count(
        districts_db, "SELECT count(*) FROM events WHERE district_code = %s", (QD,)
    )
    towns = httpx.get(f"{served}/api/console/stats/towns", params={"district": QD}).json()["towns"]
    assert towns and {t["code"][:6] for t in towns} == {QD}
    cats = httpx.get(f"{served}/api/console/events/categories", params={"district": QD}).json()
    assert sum(c["count"] for c in cats["categories"]) == events["total"]


def test_districts_list_names_and_boxes(served: str) -> None:
    doc = httpx.get(f"{served}/api/console/districts").json()["districts"]
    names = {d["code"]: d["name"] for d in doc}
    assert names == {HM: "海门区", QD: "启东市", "320612": "通州区"}
    qd = next(d for d in doc if d["code"] == QD)
    assert qd["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert 121.3 < qd["bbox"][0] < qd["bbox"][2] < 122.1


@pytest.mark.parametrize("bad", ["abc", "32068", "999999", "320681x"])
def test_a_bad_district_is_a_400_naming_it(served: str, bad: str) -> None:
    r = httpx.get(f"{served}/api/console/layers/towns", params={"district": bad})
    assert r.status_code == 400
    assert r.json()["parameter"] == "district"


def test_a_scoped_user_keeps_to_their_district(served: str, qidong_key: dict) -> None:
    for asked in ({}, {"district": HM}):
        assert _districts_of(served, "layers/grids", qidong_key, **asked) == {QD}
    r = httpx.get(f"{served}/api/console/events", params={"district": HM, "status": "all"},
                  headers=qidong_key)  # fmt: skip
    grids = {row[7][:6] for row in r.json()["rows"]}
    assert grids == {QD}


def _open(browser, url: str) -> ConsoleSession:  # noqa: ANN001
    """The console at `url` (tests/console/conftest.py's open_console, with a query)."""
    page = browser.new_page(viewport={"width": 1920, "height": 1080})
    session = ConsoleSession(page=page, base=url)
    page.on("console", lambda m: session.console.append((m.type, m.text)))
    page.on("pageerror", lambda e: session.console.append(("pageerror", str(e))))
    page.goto(url)
    page.wait_for_function("window.onemapConsole && window.onemapConsole.ready", timeout=60_000)
    return session


def _drawn_districts(console) -> dict:  # noqa: ANN001
    """District codes of the towns drawn, and what the vector tiles were asked for."""
    return console.page.evaluate(
        """() => {
          const fc = window.OnemapConsole.areas.data.towns;
          const codes = [...new Set(fc.features.map((f) => f.properties.district_code))].sort();
          const tiles = performance.getEntriesByType('resource').map((e) => e.name)
            .filter((u) => u.includes('/tiles/WebMercatorQuad/'));
          const b = window.onemapConsole.map.getBounds();
          return {codes, tiles, grids: window.OnemapConsole.areas.data.grids.features.length,
                  centre: [b.getCenter().lng, b.getCenter().lat],
                  state: window.onemapConsole.stats().districts};
        }"""
    )


def test_city_view_and_one_district_in_the_browser(browser, served: str, districts_db: str) -> None:  # noqa: ANN001, F811
    city = _open(browser, served + "/console")
    try:
        drawn = _drawn_districts(city)
        assert drawn["codes"] == sorted([HM, QD, "320612"])
        assert drawn["state"]["boundaries"] == 3 and drawn["state"]["district"] is None
        assert city.page.locator("#oc-district option").count() == 4  # city + three
        assert not city.errors()
    finally:
        city.page.close()
    one = _open(browser, served + "/console?district=" + QD)
    try:
        drawn = _drawn_districts(one)
        assert drawn["codes"] == [QD]
        assert drawn["grids"] == _count(
            districts_db, "SELECT count(*) FROM grids WHERE district_code = %s", (QD,)
        )
        assert drawn["state"]["boundaries"] == 1
        assert 121.4 < drawn["centre"][0] < 122.0  # fitted to 启东, east of Haimen
        assert drawn["tiles"] and all("district_code" in httpx.URL(u).params.get("filter", "")
                                      for u in drawn["tiles"] if "/20/0/0" not in u)  # fmt: skip
        assert not one.errors()
    finally:
        one.page.close()


def test_a_scoped_user_signing_in_is_sent_to_their_district(
    browser, served: str, districts_db: str
) -> None:  # noqa: ANN001, F811
    name = f"qd-screen-{secrets.token_hex(3)}"
    with psycopg2.connect(districts_db) as conn:
        store.add_user(conn, name, Role.VIEWER, "correct horse battery")
        with conn.cursor() as cur:
            set_district(cur, name, QD)
    conn.close()
    city = _open(browser, served + "/console")
    try:
        page = city.page
        page.evaluate("window.localStorage.clear()")
        page.click("#oc-login-btn")
        page.fill("#oc-login-user", name)
        page.fill("#oc-login-pass", "correct horse battery")
        with page.expect_navigation():
            page.click("#oc-login-panel button[type=submit]")
        page.wait_for_function("window.onemapConsole && window.onemapConsole.ready", timeout=60_000)
        assert f"district={QD}" in page.url
        assert _drawn_districts(city)["codes"] == [QD]
        assert page.locator("#oc-district").count() == 0  # no picker for a scoped user
    finally:
        city.page.evaluate("window.localStorage.clear()")
        city.page.close()
