"""District-scoped reads of the OGC API (auth/district_scope.py): an account of one district
reads only that district's features — items (GeoJSON, HTML, hits), feature by id and tiles —
by API key or session; a city account and anonymous readers read every district; the
ETags and the tile cache keep the two apart."""

from __future__ import annotations

import contextlib
import math
import secrets
from collections.abc import Iterator

import mapbox_vector_tile
import psycopg2
import pytest

from gis_server.auth import Role, store
from layers.dispatch.scope import set_district

OTHER = "320612"  # a neighbouring district made for this module
LON, LAT = 121.31, 31.96
Z = 14
PASSWORD = "correct horse battery"


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    col = int((lon + 180) / 360 * n)
    row = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return row, col


@pytest.fixture(scope="module")
def two_districts(demo_db: str, ogc_settings) -> Iterator[dict[str, str]]:  # noqa: ANN001
    """A town of OTHER with a camera, and a camera of the home district on the same tile."""
    conn = psycopg2.connect(demo_db)
    conn.autocommit = True
    cur = conn.cursor()
    home = ogc_settings.district.code
    square = f"ST_Multi(ST_Expand(ST_SetSRID(ST_Point({LON}, {LAT}), 4326), 0.001))"
    cur.execute("SELECT code FROM towns WHERE district_code = %s ORDER BY code LIMIT 1", (home,))
    home_town = cur.fetchone()[0]
    try:
        cur.execute(
            "INSERT INTO towns (code, name, kind, district_code, geom, updated_at) "
            f"VALUES ('T-DR-OTHER', '邻区镇', 'town', %s, {square}, now())",
            (OTHER,),
        )
        for code, town, dx in (("CAM-DR-OTHER", "T-DR-OTHER", 0), ("CAM-DR-HOME", home_town, 3e-4)):
            cur.execute(
                "INSERT INTO cameras (code, name, kind, status, town_code, geom, updated_at) "
                "VALUES (%s, '点位', 'xueliang', 'online', %s, "
                "ST_SetSRID(ST_Point(%s, %s), 4326), now())",
                (code, town, LON + dx, LAT),
            )
        yield {"home": home, "other": OTHER}
    finally:
        with contextlib.suppress(psycopg2.Error):
            cur.execute("DELETE FROM cameras WHERE code LIKE 'CAM-DR-%'")
        cur.execute("DELETE FROM towns WHERE code = 'T-DR-OTHER'")
        conn.close()


def _user(dsn: str, district: str | None) -> tuple[str, str]:
    name = f"dr-{district or 'city'}-{secrets.token_hex(3)}"
    with psycopg2.connect(dsn) as conn:
        store.add_user(conn, name, Role.VIEWER, PASSWORD)
        with conn.cursor() as cur:
            set_district(cur, name, district)
        _, key, _ = store.issue_key(conn, name, "test")
    conn.close()
    return name, key


@pytest.fixture(scope="module")
def readers(client, demo_db, two_districts) -> dict[str, dict[str, str]]:  # noqa: ANN001
    """Request headers of each kind of reader: anonymous, a city key, keys of each district
    and a session of OTHER."""
    out: dict[str, dict[str, str]] = {"anonymous": {}}
    for label, district in (("city", None), ("home", two_districts["home"]), ("other", OTHER)):
        _, key = _user(demo_db, district)
        out[label] = {"Authorization": f"Bearer {key}"}
    name, _ = _user(demo_db, OTHER)
    login = client.post("/api/auth/login", json={"username": name, "password": PASSWORD})
    assert login.status_code == 200, login.text
    token = login.cookies.get("onemap_session")
    client.cookies.clear()  # the shared client stays anonymous
    out["other_session"] = {"Cookie": f"onemap_session={token}"}
    return out


SEES = {  # reader -> the module's cameras it may read
    "anonymous": {"CAM-DR-OTHER", "CAM-DR-HOME"},
    "city": {"CAM-DR-OTHER", "CAM-DR-HOME"},
    "home": {"CAM-DR-HOME"},
    "other": {"CAM-DR-OTHER"},
    "other_session": {"CAM-DR-OTHER"},
}
BBOX = f"{LON - 0.01},{LAT - 0.01},{LON + 0.01},{LAT + 0.01}"


@pytest.mark.parametrize("who", list(SEES))
def test_items_keep_to_the_district(client, readers, sql, who) -> None:  # noqa: ANN001
    r = client.get(
        "/ogc/collections/cameras/items", params={"bbox": BBOX, "limit": 100}, headers=readers[who]
    )
    assert r.status_code == 200, r.text
    got = {f["id"] for f in r.json()["features"]} & {"CAM-DR-OTHER", "CAM-DR-HOME"}
    assert got == SEES[who]
    # the count on a whole page (numberMatched) is the reader's district's count
    page = client.get("/ogc/collections/cameras/items", params={"limit": 1}, headers=readers[who])
    district = {"home": "320614", "other": OTHER, "other_session": OTHER}.get(who)
    where = "" if district is None else f" WHERE district_code = '{district}'"
    assert page.json()["numberMatched"] == sql(f"SELECT count(*) FROM cameras{where}")[0][0]
    hits = client.get(
        "/ogc/collections/cameras/items", params={"resulttype": "hits"}, headers=readers[who]
    )
    assert hits.status_code == 200, hits.text
    assert hits.json()["numberMatched"] == page.json()["numberMatched"]


@pytest.mark.parametrize("who", list(SEES))
def test_feature_by_id_outside_the_district_is_404(client, readers, who) -> None:  # noqa: ANN001
    for code in ("CAM-DR-OTHER", "CAM-DR-HOME"):
        for f in ("json", "html"):
            r = client.get(
                f"/ogc/collections/cameras/items/{code}", params={"f": f}, headers=readers[who]
            )
            assert r.status_code == (200 if code in SEES[who] else 404), (code, f, r.text[:200])


@pytest.mark.parametrize("who", list(SEES))
def test_items_html_keeps_to_the_district(client, readers, who) -> None:  # noqa: ANN001
    r = client.get(
        "/ogc/collections/cameras/items",
        params={"bbox": BBOX, "f": "html", "limit": 100},
        headers=readers[who],
    )
    assert r.status_code == 200, r.text
    for code in ("CAM-DR-OTHER", "CAM-DR-HOME"):
        assert (code in r.text) == (code in SEES[who]), code


def _tile_codes(client, headers) -> tuple[set[str], str]:  # noqa: ANN001
    row, col = _tile_of(LON, LAT, Z)
    r = client.get(
        f"/ogc/collections/cameras/tiles/WebMercatorQuad/{Z}/{row}/{col}", headers=headers
    )
    assert r.status_code in (200, 204), r.text
    layer = (
        mapbox_vector_tile.decode(r.content).get("cameras", {"features": []})
        if r.content
        else {"features": []}
    )
    codes = {f["properties"]["code"] for f in layer["features"]}
    return codes & {"CAM-DR-OTHER", "CAM-DR-HOME"}, r.headers["etag"]


def test_tiles_keep_to_the_district_and_cache_apart(client, readers) -> None:  # noqa: ANN001
    tags = {}
    # city first, then scoped, then city again: the tile cache must not cross over
    for who in ("city", "other", "home", "anonymous", "other_session", "city"):
        codes, tags[who] = _tile_codes(client, readers[who])
        assert codes == SEES[who], who
    assert tags["city"] == tags["anonymous"]
    assert len({tags["city"], tags["other"], tags["home"]}) == 3
    assert tags["other"] == tags["other_session"]
    # a scoped reader's revalidation with the city's ETag gets the tile, not 304
    row, col = _tile_of(LON, LAT, Z)
    url = f"/ogc/collections/cameras/tiles/WebMercatorQuad/{Z}/{row}/{col}"
    r = client.get(url, headers={**readers["other"], "If-None-Match": tags["city"]})
    assert r.status_code == 200
    assert r.headers["cache-control"].startswith("private")
    assert "Authorization" in r.headers["vary"]


def test_items_etags_differ_by_district(client, readers) -> None:  # noqa: ANN001
    url = "/ogc/collections/cameras/items"
    city = client.get(url, params={"bbox": BBOX}, headers=readers["city"])
    scoped = client.get(url, params={"bbox": BBOX}, headers=readers["other"])
    assert city.headers["etag"] != scoped.headers["etag"]
    assert city.headers["cache-control"].startswith("public")
    assert scoped.headers["cache-control"].startswith("private")
    again = client.get(
        url,
        params={"bbox": BBOX},
        headers={**readers["other"], "If-None-Match": city.headers["etag"]},
    )
    assert again.status_code == 200
    item = client.get(f"{url}/CAM-DR-OTHER", headers=readers["city"])
    revalidated = client.get(
        f"{url}/CAM-DR-OTHER", headers={**readers["home"], "If-None-Match": item.headers["etag"]}
    )
    assert revalidated.status_code == 404


def test_a_sessions_district_change_is_seen(client, readers, demo_db) -> None:  # noqa: ANN001
    """The session's district is kept per process for reads (SessionDistricts) until an auth
    change: re-scoping the user clears it (NOTIFY onemap_auth), the next tile follows."""
    import time

    assert _tile_codes(client, readers["other_session"])[0] == SEES["other"]
    cache = client.app.state.session_districts
    hits = cache.hits
    assert _tile_codes(client, readers["other_session"])[0] == SEES["other"]
    assert cache.hits > hits  # no session lookup for that tile
    with psycopg2.connect(demo_db) as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT u.username FROM sessions s JOIN users u ON u.id = s.user_id "
            "WHERE u.username LIKE 'dr-320612-%%' ORDER BY s.created_at DESC LIMIT 1"
        )
        (name,) = cur.fetchone()
        set_district(cur, name, "320614")
    conn.close()
    try:
        deadline = time.monotonic() + 15
        while _tile_codes(client, readers["other_session"])[0] != SEES["home"]:
            assert time.monotonic() < deadline, "the session's old district stayed in use"
            time.sleep(0.05)
    finally:
        with psycopg2.connect(demo_db) as conn, conn.cursor() as cur:
            set_district(cur, name, OTHER)
        conn.close()
