"""The console's JSON API: shapes, errors, and no reporter data ever leaving."""

from __future__ import annotations

import httpx
import psycopg2
import pytest

from gis_server.console_api.lookup import parse_coordinate
from map_ui import ConsoleOptions, build_console_page
from map_ui.assets import external_urls


def test_page_html_loads_nothing_from_other_hosts() -> None:
    html = build_console_page(ConsoleOptions(title="测试", basemaps=[]))
    assert external_urls(html) == []
    assert "cdn" not in html.lower() and "OnemapConsole.start(" in html


@pytest.mark.parametrize(
    "text, expected",
    [
        ("121.2,31.9", (121.2, 31.9)),
        ("31.9, 121.2", (121.2, 31.9)),
        ("121.2，31.9", (121.2, 31.9)),
        ("121 32", (121.0, 32.0)),
        ("320614001", None),
        ("200,100", None),
    ],
)
def test_parse_coordinate(text: str, expected) -> None:
    assert parse_coordinate(text) == expected


def test_layer_endpoints(console_url: str, sql) -> None:
    with httpx.Client(base_url=console_url, timeout=30) as c:
        grids = c.get("/api/console/layers/grids").json()
        assert grids["type"] == "FeatureCollection"
        props = grids["features"][0]["properties"]
        assert {
            "code",
            "name",
            "town_name",
            "worker_name",
            "worker_phone",
            "population",
            "open_events",
        } <= set(props)
        cams = c.get("/api/console/layers/cameras").json()
        assert cams["fields"][:4] == ["code", "name", "kind", "status"]
        assert len(cams["rows"]) == sql("SELECT count(*) FROM cameras")
        stats = c.get("/api/console/stats/towns").json()
        assert len(stats["towns"]) == sql("SELECT count(*) FROM towns")
        assert {"today", "open", "overdue", "closure_rate"} <= set(stats["towns"][0])
        water = c.get("/api/console/basemap/water")
        assert water.status_code == 200 and water.json()["type"] == "FeatureCollection"
        assert (
            c.get("/").status_code == 200
            and c.get("/static/console/console/core.js").status_code == 200
        )


def test_bad_parameters_are_json_errors(console_url: str) -> None:
    with httpx.Client(base_url=console_url) as c:
        r = c.get("/api/console/events", params={"status": "bogus"})
        assert (
            r.status_code == 400
            and r.json()["code"] == "InvalidParameter"
            and "status" in r.json()["description"]
        )
        r = c.get("/api/console/point", params={"lon": "x", "lat": 31})
        assert r.status_code == 400 and "lon" in r.json()["description"]
        r = c.get("/api/console/tracks/NOPE/2020-01-01")
        assert r.status_code == 404 and r.json()["code"] == "NotFound"


def test_reporter_contacts_never_leave(console_url: str, sql) -> None:
    # Reporter phones that are not also some grid worker's public phone.
    phones = sql(
        "SELECT coalesce(array_agg(DISTINCT c.reporter_phone), '{}') FROM (SELECT reporter_phone "
        "FROM event_contacts WHERE reporter_phone IS NOT NULL LIMIT 200) c "
        "WHERE NOT EXISTS (SELECT 1 FROM grids g WHERE g.worker_phone = c.reporter_phone)"
    )
    code = sql("SELECT event_code FROM event_contacts LIMIT 1")
    with httpx.Client(base_url=console_url, timeout=30) as c:
        bodies = [
            c.get("/api/console/events", params={"status": "all"}).text,
            c.get("/api/console/layers/grids").text,
        ]
        if code:
            bodies.append(c.get("/api/console/search", params={"q": code}).text)
    assert phones, "the demo data should have reporter phones to check"
    for body in bodies:
        assert "reporter" not in body
        for phone in phones:
            assert phone not in body


def _execute(dsn: str, query: str, params: tuple = ()) -> None:
    """One committed statement (the layer_changes triggers see it at once)."""
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(query, params)
    conn.close()


def test_polled_layers_answer_304_until_they_change(console_url: str, console_dsn: str, sql):
    """A big screen polls its layers; an edit made elsewhere shows on the next poll,
    not after a cache's TTL, and an unchanged layer costs a 304."""
    code, name = sql("SELECT code || '|' || worker_name FROM grids WHERE valid_to IS NULL "
                     "ORDER BY code LIMIT 1").split("|")  # fmt: skip
    with httpx.Client(base_url=console_url, timeout=30) as c:
        first = c.get("/api/console/layers/grids")
        etag = first.headers["etag"]
        assert first.headers["cache-control"] == "no-cache"
        assert (
            c.get("/api/console/layers/grids", headers={"If-None-Match": etag}).status_code == 304
        )
        try:
            _execute(console_dsn, "UPDATE grids SET worker_name = %s WHERE code = %s "
                     "AND valid_to IS NULL", ("测试员", code))  # fmt: skip
            changed = c.get("/api/console/layers/grids", headers={"If-None-Match": etag})
            assert changed.status_code == 200 and changed.headers["etag"] != etag
            mine = next(f for f in changed.json()["features"] if f["id"] == code)
            assert mine["properties"]["worker_name"] == "测试员"
        finally:
            _execute(console_dsn, "UPDATE grids SET worker_name = %s WHERE code = %s "
                     "AND valid_to IS NULL", (name, code))  # fmt: skip
        gz = c.get("/api/console/layers/cameras", headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip" and gz.json()["rows"]


@pytest.mark.parametrize("path", ["/api/console/layers/cameras", "/api/console/basemap/water"])
def test_refused_gzip_is_not_sent_and_answers_say_they_vary(console_url: str, path: str) -> None:
    """`gzip;q=0` means "not gzip" (RFC 9110); every answer that depends on Accept-Encoding
    says so, gzipped or not, so a shared cache keeps the two apart."""
    with httpx.Client(base_url=console_url, timeout=30) as c:
        refused = c.get(path, headers={"Accept-Encoding": "gzip;q=0"})
        assert refused.status_code == 200 and "content-encoding" not in refused.headers
        assert refused.headers["vary"] == "Accept-Encoding" and refused.json()
        plain = c.get(path, headers={"Accept-Encoding": "identity"})
        assert "content-encoding" not in plain.headers
        assert plain.headers["vary"] == "Accept-Encoding"
        gz = c.get(path, headers={"Accept-Encoding": "gzip"})
        assert gz.headers["content-encoding"] == "gzip"
        assert gz.headers["vary"] == "Accept-Encoding"
