"""District-scoped accounts (users.district_code, migration 0015): a user of one district
sees and acts on its events only — queues, detail, actions, stats — and writes only its
features through Part 4; a user without a district (the city) sees every district."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import psycopg2
import pytest

from gis_server.auth import Role, store
from layers.dispatch.scope import set_district, set_scope
from tests.dispatch.conftest import TOWN, auth, lonlat, run_sql
from tests.dispatch.test_intake import ticket

OTHER = "320612"  # the D9 town is moved into this district for the module
HOME = "320614"
GEO = {"Content-Type": "application/geo+json"}


@pytest.fixture(scope="module")
def d9_other(world: str) -> Iterator[str]:
    run_sql(world, "UPDATE towns SET district_code = %s WHERE code = %s", (OTHER, TOWN))
    yield world
    run_sql(world, "UPDATE towns SET district_code = %s WHERE code = %s", (HOME, TOWN))
    run_sql(world, "DELETE FROM cameras WHERE code LIKE 'D9-CAM-%%'")


def _key(dsn: str, role: Role, district: str | None, department=None, grids=()) -> dict:  # noqa: ANN001
    name = f"d9-dist-{role.label.replace('_', '')}-{secrets.token_hex(3)}"
    with psycopg2.connect(dsn) as conn:
        store.add_user(conn, name, role, "correct horse battery")
        with conn.cursor() as cur:
            set_scope(cur, name, department, grids)
            set_district(cur, name, district)
        _, key, _ = store.issue_key(conn, name, "test")
    conn.close()
    return auth(key)


@pytest.fixture(scope="module")
def keys(d9_other: str) -> dict[str, dict]:
    k = {
        "reporter": _key(d9_other, Role.REPORTER, None),
        "city": _key(d9_other, Role.DISPATCHER, None),
    }
    for where, district in (("in", OTHER), ("out", HOME)):
        k[f"dispatcher_{where}"] = _key(d9_other, Role.DISPATCHER, district)
        k[f"handler_{where}"] = _key(d9_other, Role.HANDLER, district, department="D9-WATER")
        k[f"worker_{where}"] = _key(d9_other, Role.GRID_WORKER, district, grids=("D9-A",))
        k[f"editor_{where}"] = _key(d9_other, Role.GIS_EDITOR, district)
    return k


@pytest.fixture()
def event(client, d9_other, keys) -> str:  # noqa: ANN001
    r = client.post("/api/events", json=ticket(d9_other), headers=keys["reporter"])
    assert r.status_code == 201, r.text
    return r.json()["code"]


def _queue_codes(client, headers) -> set[str]:  # noqa: ANN001
    r = client.get("/api/events", params={"queue": "open", "limit": 200}, headers=headers)
    assert r.status_code == 200, r.text
    return {e["code"] for e in r.json()["events"]}


def test_intake_puts_the_event_in_its_towns_district(client, event, keys) -> None:
    detail = client.get(f"/api/events/{event}", headers=keys["city"])
    assert detail.status_code == 200 and detail.json()["district_code"] == OTHER


@pytest.mark.parametrize("role", ["dispatcher", "handler", "worker"])
def test_each_role_sees_its_district_only(client, event, keys, role) -> None:  # noqa: ANN001
    assert event in _queue_codes(client, keys[f"{role}_in"])
    assert event not in _queue_codes(client, keys[f"{role}_out"])
    assert client.get(f"/api/events/{event}", headers=keys[f"{role}_in"]).status_code == 200
    assert client.get(f"/api/events/{event}", headers=keys[f"{role}_out"]).status_code == 404
    nearby = client.get(f"/api/events/{event}/nearby", headers=keys[f"{role}_out"])
    assert nearby.status_code == 404
    assert event in _queue_codes(client, keys["city"])


def test_actions_outside_the_district_are_refused(client, event, keys) -> None:
    def act(who: str, action: str):  # noqa: ANN202
        return client.post(
            f"/api/events/{event}/actions", json={"action": action}, headers=keys[who]
        )

    assert act("handler_out", "accept").status_code == 403
    assert act("worker_out", "accept").status_code in (403, 409)
    assert act("dispatcher_out", "return").status_code == 403
    detail = client.get(f"/api/events/{event}", headers=keys["handler_in"]).json()
    assert "accept" in detail["allowed_actions"]
    r = act("handler_in", "accept")
    assert r.status_code == 200 and r.json()["status"] == "accepted"


def test_stats_count_the_district_only(client, event, keys) -> None:
    def received(who: str) -> int:
        r = client.get("/api/dispatch/stats", params={"by": "town"}, headers=keys[who])
        assert r.status_code == 200, r.text
        return sum(row["received"] for row in r.json()["rows"] if row["key"] == TOWN)

    inside = received("dispatcher_in")
    assert inside >= 1 and inside == received("city")
    assert received("dispatcher_out") == 0


def _camera(world: str, code: str) -> dict:
    lon, lat = lonlat(world, 50, 50)
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {
            "code": code,
            "name": "测试点位",
            "kind": "xueliang",
            "status": "online",
            "town_code": TOWN,
        },  # fmt: skip
    }


def test_part4_writes_outside_the_district_are_refused(client, d9_other, keys) -> None:
    code = f"D9-CAM-{secrets.token_hex(3)}"
    body = json.dumps(_camera(d9_other, code))
    url = "/ogc/collections/cameras/items"
    refused = client.post(url, content=body, headers={**GEO, **keys["editor_out"]})
    assert refused.status_code == 403, refused.text
    assert run_sql(d9_other, "SELECT count(*) FROM cameras WHERE code = %s", (code,)) == [(0,)]
    made = client.post(url, content=body, headers={**GEO, **keys["editor_in"]})
    assert made.status_code == 201, made.text
    assert made.json()["properties"]["district_code"] == OTHER
    patch = json.dumps({"properties": {"name": "改名"}})
    ctype = {"Content-Type": "application/merge-patch+json"}
    assert (
        client.patch(
            f"{url}/{code}", content=patch, headers={**ctype, **keys["editor_out"]}
        ).status_code
        == 403
    )
    assert client.delete(f"{url}/{code}", headers=keys["editor_out"]).status_code == 403
    # moving it out of the district (to a town of the other one) is refused as well
    home_town = run_sql(
        d9_other, "SELECT code FROM towns WHERE district_code = %s LIMIT 1", (HOME,)
    )[0][0]
    move = json.dumps({"properties": {"town_code": home_town}})
    assert (
        client.patch(
            f"{url}/{code}", content=move, headers={**ctype, **keys["editor_in"]}
        ).status_code
        == 403
    )
    assert client.delete(f"{url}/{code}", headers=keys["editor_in"]).status_code == 204
