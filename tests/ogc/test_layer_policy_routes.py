"""The read policy and scoped keys beyond /ogc/collections/{id}: console search and tracks,
dispatch's event routes and statistics, the feed, the fleet replay, the live stream and
the grid processes follow `layer_policies` (one check: `collection_policy.authorise`)."""

from __future__ import annotations

import datetime as dt
import json
import secrets

import psycopg
import psycopg2
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.auth import store
from gis_server.auth.roles import Role
from gis_server.collection_settings import LayerPolicy
from tests.feed.sse import SseClient

POLICIES = {"events": "gis_editor", "vehicles": "dispatcher", "grids": "admin"}


@pytest.fixture(scope="module")
def client(ogc_settings):
    policies = {k: LayerPolicy(read_role=v) for k, v in POLICIES.items()}
    settings = ogc_settings.model_copy(update={"layer_policies": policies})
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def key(demo_db):
    """key(role, collections=None): a live API key of a new user."""
    made: list[str] = []

    def make(role: Role, collections: list[str] | None = None) -> dict[str, str]:
        name = f"lpr-{role.label}-{secrets.token_hex(3)}"
        with psycopg2.connect(demo_db) as conn:
            store.add_user(conn, name, role, "long enough password")
            _, k, _ = store.issue_key(conn, name, "t", collections=collections)
        conn.close()
        made.append(name)
        return {"X-API-Key": k}

    yield make
    with psycopg2.connect(demo_db) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM users WHERE username = ANY(%s)", (made,))
    conn.close()


@pytest.fixture(scope="module")
def codes(sql):
    (vehicle,) = sql("SELECT code FROM vehicles WHERE geom IS NOT NULL ORDER BY code LIMIT 1")[0]
    (event,) = sql("SELECT code FROM events ORDER BY code LIMIT 1")[0]
    return vehicle, event


def _layers(r) -> set[str]:
    assert r.status_code == 200, r.text
    return {h["layer"] for h in r.json()["hits"]}


def test_search_leaves_out_layers_the_asker_may_not_read(client, key, codes):
    vehicle, event = codes
    assert "vehicles" not in _layers(client.get("/api/console/search", params={"q": vehicle}))
    assert "events" not in _layers(client.get("/api/console/search", params={"q": event}))
    dispatcher = key(Role.DISPATCHER)
    assert "vehicles" in _layers(
        client.get("/api/console/search", params={"q": vehicle}, headers=dispatcher)
    )
    assert "events" not in _layers(
        client.get("/api/console/search", params={"q": event}, headers=dispatcher)
    )
    editor = key(Role.GIS_EDITOR)
    got = client.get("/api/console/search", params={"q": event}, headers=editor)
    assert "events" in _layers(got)
    # a scoped key reaches only the restricted layers it lists
    scoped = key(Role.GIS_EDITOR, collections=["cameras"])
    got = client.get("/api/console/search", params={"q": event}, headers=scoped)
    assert "events" not in _layers(got)


def test_dispatch_reads_follow_the_events_policy(client, key, codes):
    _, event = codes
    dispatcher, editor = key(Role.DISPATCHER), key(Role.GIS_EDITOR)
    for path in ("/api/events", f"/api/events/{event}", f"/api/events/{event}/nearby",
                 "/api/dispatch/stats"):  # fmt: skip
        r = client.get(path, headers=dispatcher)
        assert r.status_code == 403, (path, r.text)
        assert client.get(path, headers=editor).status_code != 403, path
    assert client.get("/api/dispatch/stats", headers=editor).status_code == 200
    assert client.get("/api/events", headers=editor).status_code == 200


def test_scoped_keys_write_events_and_vehicles(client, key, codes):
    _, event = codes
    assert client.post("/api/events", json={}, headers=key(Role.REPORTER, ["cameras"])).status_code == 403  # fmt: skip
    assert client.post("/api/events", json={}, headers=key(Role.REPORTER, ["events"])).status_code == 400  # fmt: skip
    act = f"/api/events/{event}/actions"
    r = client.post(act, json={}, headers=key(Role.GIS_EDITOR, ["cameras"]))
    assert r.status_code == 403 and "scoped" in r.json()["description"]
    assert client.post(act, json={}, headers=key(Role.GIS_EDITOR, ["events"])).status_code == 400
    feed = "/api/feed/positions"
    assert client.post(feed, json=[], headers=key(Role.DISPATCHER, ["events"])).status_code == 403
    r = client.post(feed, json=[], headers=key(Role.DISPATCHER, ["vehicles"]))
    assert r.status_code == 200 and r.json()["counts"]["received"] == 0


def test_tracks_follow_the_vehicles_policy(client, key, codes):
    vehicle, _ = codes
    path = f"/api/console/tracks/{vehicle}"
    assert client.get(path).status_code == 401
    assert client.get(path, headers=key(Role.VIEWER)).status_code == 403
    assert client.get(path, headers=key(Role.DISPATCHER)).status_code == 200
    assert client.get(f"{path}/2020-01-01", headers=key(Role.VIEWER)).status_code == 403


def _window(sql, query: str) -> dict[str, str]:
    (last,) = sql(query)[0]
    assert last is not None
    return {"from": (last - dt.timedelta(hours=23)).isoformat(), "to": (last + dt.timedelta(seconds=1)).isoformat()}  # fmt: skip


def test_replay_leaves_out_what_the_asker_may_not_read(client, key, sql):
    fleet = _window(sql, "SELECT max(fix_time) FROM vehicle_positions")
    events = _window(sql, "SELECT max(created_at) FROM events")
    anonymous = client.get("/api/replay", params=fleet).json()
    assert anonymous["vehicles"] == {} and anonymous["returned_fixes"] == 0
    assert client.get("/api/replay", params=events).json()["events"] == []
    dispatcher = key(Role.DISPATCHER)
    assert client.get("/api/replay", params=fleet, headers=dispatcher).json()["vehicles"]
    assert client.get("/api/replay", params=events, headers=dispatcher).json()["events"] == []
    editor = key(Role.GIS_EDITOR)
    assert client.get("/api/replay", params=events, headers=editor).json()["events"]


def test_grid_processes_and_grid_reads_follow_the_grids_policy(client, key):
    split = "/ogc/processes/grid-split/execution"
    r = client.post(split, json={"inputs": {}}, headers=key(Role.GIS_EDITOR))
    assert r.status_code == 403, r.text
    assert client.post(split, json={"inputs": {}}, headers=key(Role.ADMIN)).status_code == 400
    diff = {"from": "2020-01-01T00:00:00Z", "to": "2020-01-02T00:00:00Z"}
    assert client.get("/api/grids/diff", params=diff).status_code == 401
    assert client.get("/api/grids/diff", params=diff, headers=key(Role.ADMIN)).status_code == 200
    assert client.get("/api/grids/check", headers=key(Role.GIS_EDITOR)).status_code == 403


def test_live_stream_sends_only_kinds_the_client_may_read(demo_db, key):
    from tests.helpers import onemap_serve

    env = {"DATABASE_URL": demo_db, "ONEMAP_LAYER_POLICIES": json.dumps(
        {k: {"read_role": v} for k, v in POLICIES.items()})}  # fmt: skip
    with onemap_serve(env, "layer_policy_live.log") as (base, _port):
        anonymous = SseClient(f"{base}/api/live")
        dispatcher = SseClient(f"{base}/api/live", headers=key(Role.DISPATCHER))
        try:
            for c in (anonymous, dispatcher):
                c.wait_for("hello")
            with psycopg.connect(demo_db, autocommit=True) as conn:
                for kind in ("vehicles", "event", "marker"):
                    conn.execute("SELECT pg_notify('onemap_live', %s)", (json.dumps({"kind": kind}),))  # fmt: skip
            seen_anonymous, seen_dispatcher = _kinds_until_marker(anonymous), _kinds_until_marker(dispatcher)  # fmt: skip
        finally:
            anonymous.close()
            dispatcher.close()
    assert seen_anonymous == [] and seen_dispatcher == ["vehicles"]


def _kinds_until_marker(client: SseClient) -> list[str]:
    """The kinds a client got before the marker (one LISTEN connection: in NOTIFY order)."""
    kinds = []
    while True:
        name, _ = client.events.get(timeout=20)
        if name == "marker":
            return kinds
        if name in ("vehicles", "event"):
            kinds.append(name)


def test_point_lookup_and_town_stats_follow_the_policy(client, key, sql):
    lon, lat = sql("SELECT ST_X(geom), ST_Y(geom) FROM vehicles WHERE geom IS NOT NULL LIMIT 1")[0]
    point = {"lon": round(lon, 6), "lat": round(lat, 6)}
    anonymous = client.get("/api/console/point", params=point).json()
    assert anonymous["vehicles"] == [] and anonymous["cameras"]
    assert anonymous["grid"] is None or "open_events" not in anonymous["grid"]
    seen = client.get("/api/console/point", params=point, headers=key(Role.GIS_EDITOR)).json()
    assert seen["vehicles"] and (seen["grid"] is None or "open_events" in seen["grid"])
    assert client.get("/api/console/stats/towns").status_code == 401
    assert client.get("/api/console/stats/towns", headers=key(Role.DISPATCHER)).status_code == 403
    assert client.get("/api/console/stats/towns", headers=key(Role.GIS_EDITOR)).status_code == 200


def test_nearby_leaves_out_vehicles_below_their_policy(ogc_settings, key, codes):
    _, event = codes
    policies = {"vehicles": LayerPolicy(read_role="admin")}
    settings = ogc_settings.model_copy(update={"layer_policies": policies})
    with TestClient(create_app(settings)) as c:
        path = f"/api/events/{event}/nearby"
        assert c.get(path, headers=key(Role.DISPATCHER)).json()["vehicles"] == []
        assert c.get(path, headers=key(Role.ADMIN)).json()["vehicles"]


def test_console_grids_carry_open_events_only_for_events_readers(ogc_settings, key):
    policies = {"events": LayerPolicy(read_role="gis_editor")}
    settings = ogc_settings.model_copy(update={"layer_policies": policies})
    with TestClient(create_app(settings)) as c:

        def props(headers=None):
            body = c.get("/api/console/layers/grids", headers=headers or {}).json()
            return body["features"][0]["properties"]

        assert "open_events" not in props() and "worker_name" in props()
        assert "open_events" in props(key(Role.GIS_EDITOR))
        assert "open_events" not in props(key(Role.DISPATCHER))
