"""Reporters' phones never leave through a public response or an export; dispatchers see them.

The demo's reporter phones (citizen channels) are searched for in every public
answer about events: OGC items (GeoJSON, HTML, CSV) and single features,
vector tiles, the console's bodies, the file exports, and the dispatch API as
handlers and grid workers see it.
"""

from __future__ import annotations

import math

import httpx
import pytest
from click.testing import CliRunner

from gis_server.auth import Role
from gis_server.cli.main import cli
from tests.dispatch.conftest import auth, run_sql

ITEMS = "/ogc/collections/events/items"


@pytest.fixture(scope="module")
def reporters(world):  # noqa: ANN001, ANN201
    """(code, phone, lon, lat) of 30 demo events with a reporter, newest first."""
    rows = run_sql(world, "SELECT e.code, c.reporter_phone, ST_X(e.geom), ST_Y(e.geom) FROM events e "
                   "JOIN event_contacts c ON c.event_code = e.code WHERE c.reporter_phone IS NOT NULL "
                   "AND e.code LIKE 'HM%%' ORDER BY e.created_at DESC LIMIT 30")  # fmt: skip
    assert len(rows) == 30
    return rows


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


def public_bodies(client, reporters) -> dict[str, bytes]:  # noqa: ANN001
    out: dict[str, bytes] = {}
    for f in ("json", "html", "csv"):
        out[f"items?f={f}"] = client.get(ITEMS, params={"limit": 2000, "f": f}).content
    for code, _, lon, lat in reporters[:10]:
        for f in ("json", "html"):
            out[f"{code}?f={f}"] = client.get(f"{ITEMS}/{code}", params={"f": f}).content
        for z in (10, 14):
            col, row = tile_of(lon, lat, z)
            out[f"tile {z}/{row}/{col}"] = client.get(
                f"/ogc/collections/events/tiles/WebMercatorQuad/{z}/{row}/{col}"
            ).content
        out[f"point {code}"] = client.get(
            "/api/console/point", params={"lon": lon, "lat": lat}
        ).content
    out["console events"] = client.get("/api/console/events", params={"status": "all"}).content
    out["console categories"] = client.get("/api/console/events/categories").content
    out["queryables"] = client.get("/ogc/collections/events/queryables").content
    return out


def test_no_public_response_contains_a_reporters_phone(live_server, reporters) -> None:
    """Against a real `onemap serve` (pygeoapi's HTML templates keep the first app's
    configuration per process, so in-process HTML here would leak into later tests)."""
    with httpx.Client(base_url=live_server, timeout=60) as client:
        bodies = public_bodies(client, reporters)
        _check(client, bodies, reporters)


def _check(client, bodies: dict[str, bytes], reporters) -> None:  # noqa: ANN001
    assert [name for name, b in bodies.items() if not b] == []
    phones = [phone.encode() for _, phone, _, _ in reporters]
    for code, *_ in reporters[:10]:  # the events themselves are public
        assert (
            code.encode() in bodies[f"{code}?f=json"] and code.encode() in bodies[f"{code}?f=html"]
        )
    leaks = [(name, p) for name, body in bodies.items() for p in phones if p in body]
    assert leaks == []
    for _, phone, *_ in reporters[:5]:  # the console's search finds nothing by a phone
        assert client.get("/api/console/search", params={"q": phone}).json()["hits"] == []


def test_no_export_contains_a_reporters_phone(world, reporters, tmp_path) -> None:
    phones = [phone for _, phone, _, _ in reporters]
    for name in ("events.csv", "events.geojson"):
        r = CliRunner().invoke(cli, ["export", "events", str(tmp_path / name)])
        assert r.exit_code == 0, r.output
        text = (tmp_path / name).read_text(encoding="utf-8")
        assert reporters[0][0] in text and not [p for p in phones if p in text]


def test_dispatch_api_shows_phones_to_dispatchers_only(client, reporters, make_key) -> None:
    code, phone, *_ = reporters[0]
    dispatcher = client.get(f"/api/events/{code}", headers=auth(make_key(Role.DISPATCHER)))
    assert dispatcher.status_code == 200 and dispatcher.json()["reporter"]["phone"] == phone
    for role in (Role.HANDLER, Role.GRID_WORKER):
        grid = run_sql_one(client, code)
        key = make_key(role, department=dispatcher.json()["department_code"], grids=(grid,))
        for path in (
            f"/api/events/{code}",
            f"/api/events/{code}/nearby",
            "/api/events?queue=all&limit=200",
        ):
            r = client.get(path, headers=auth(key))
            assert r.status_code == 200 and phone not in r.text, (role, path)


def run_sql_one(client, code: str) -> str:  # noqa: ANN001
    return client.get(f"{ITEMS}/{code}").json()["properties"]["grid_code"]
