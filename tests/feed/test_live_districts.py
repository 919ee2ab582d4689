"""`/api/live` on real `onemap serve` processes: a district-scoped account's stream carries
only its district's vehicles, geofence alerts, events and workers (a city account's all of
them); and two processes on one database each deliver one change — a feed ingest, a
dispatch action — exactly once to their own SSE clients (LISTEN/NOTIFY fan-out)."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from collections.abc import Iterator

import psycopg
import psycopg2
import pytest

from gis_server.auth import Role, store
from layers.dispatch.scope import set_district
from tests.feed.conftest import DAY
from tests.feed.mqtt_helpers import RULES
from tests.feed.sse import SseClient

HOME = "320614"
OTHER = "320612"


@pytest.fixture(scope="module")
def servers(demo_db: str) -> Iterator[tuple[str, str]]:
    """Two `onemap serve` processes on the one database."""
    from tests.helpers import onemap_serve

    env = {"DATABASE_URL": demo_db}
    with (
        onemap_serve(env, "live_districts_a.log") as (a, _),
        onemap_serve(env, "live_districts_b.log") as (b, _),
    ):
        yield a, b


@pytest.fixture(scope="module")
def world(demo_db: str) -> Iterator[dict]:
    """A town of OTHER; a vehicle, an event and a grid worker in each district; dispatcher
    keys of the city and of each district."""
    tag = secrets.token_hex(3)
    conn = psycopg2.connect(demo_db)  # committed step by step (add_user uses a savepoint)
    cur = conn.cursor()
    square = "ST_Multi(ST_Expand(ST_SetSRID(ST_Point(121.31, 31.96), 4326), 0.001))"
    cur.execute("SELECT code FROM towns WHERE district_code = %s ORDER BY code LIMIT 1", (HOME,))
    home_town = cur.fetchone()[0]
    other_town = f"T-LV-{tag}"
    cur.execute(
        "INSERT INTO towns (code, name, kind, district_code, geom, updated_at) "
        f"VALUES (%s, '邻区镇', 'town', %s, {square}, now())",
        (other_town, OTHER),
    )
    out: dict = {"vehicles": {}, "events": {}, "workers": {}, "keys": {}}
    for district, town in ((HOME, home_town), (OTHER, other_town)):
        code = f"LV{district[-2:]}{tag}"
        cur.execute(
            "INSERT INTO vehicles (code, plate, kind, town_code) VALUES (%s, %s, 'sanitation', %s)",
            (code, f"苏F·{code}", town),
        )
        out["vehicles"][district] = code
        ev = f"E-LV-{district}-{tag}"
        cur.execute(
            "INSERT INTO events (code, title, source, category, town_code, created_at, geom) "
            "VALUES (%s, 't', 'centre', 'c', %s, now(), ST_SetSRID(ST_Point(121.31, 31.96), 4326))",
            (ev, town),
        )
        out["events"][district] = ev
        worker = f"lvw-{district}-{tag}"
        store.add_user(conn, worker, Role.GRID_WORKER, "correct horse battery")
        set_district(cur, worker, district)
        out["workers"][district] = worker
    for label, district in (("city", None), (HOME, HOME), (OTHER, OTHER)):
        name = f"lvd-{label}-{tag}"
        store.add_user(conn, name, Role.DISPATCHER, "correct horse battery")
        set_district(cur, name, district)
        _, key, _ = store.issue_key(conn, name, "test")
        out["keys"][label] = {"Authorization": f"Bearer {key}"}
    conn.commit()
    try:
        yield out
    finally:
        codes = list(out["vehicles"].values())
        cur.execute("DELETE FROM vehicle_positions WHERE vehicle_code = ANY(%s)", (codes,))
        cur.execute("DELETE FROM vehicle_tracks WHERE vehicle_code = ANY(%s)", (codes,))
        cur.execute("DELETE FROM vehicle_trips WHERE vehicle_code = ANY(%s)", (codes,))
        cur.execute("DELETE FROM vehicles WHERE code = ANY(%s)", (codes,))
        cur.execute("DELETE FROM events WHERE code = ANY(%s)", (list(out["events"].values()),))
        cur.execute("DELETE FROM towns WHERE code = %s", (other_town,))
        conn.commit()
        conn.close()


class Seen:
    """Every event of one SSE client, read until a marker NOTIFY arrives (so what was not
    delivered before it never will be: one LISTEN, delivered in commit order)."""

    def __init__(self, client: SseClient) -> None:
        self.client = client

    def until_marker(self, marker: str, timeout: float = 30.0) -> list[tuple[str, dict]]:
        import time

        got: list[tuple[str, dict]] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"marker {marker} not seen")
            name, data = self.client.events.get(timeout=left)
            if name in ("comment", "status"):
                continue
            if name == "error":
                raise AssertionError(data)
            body = json.loads(data)
            if name == "marker" and body.get("marker") == marker:
                return got
            got.append((name, body))


def _marker(dsn: str) -> str:
    marker = secrets.token_hex(4)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_notify('onemap_live', %s)",
            (json.dumps({"kind": "marker", "marker": marker}),),  # a kind every client gets
        )
    return marker


def _clients(base: str, keys: dict[str, dict]) -> dict[str, SseClient]:
    out = {}
    for label, headers in keys.items():
        client = SseClient(f"{base}/api/live", headers)
        hello = client.wait_for("hello")
        assert hello["district_code"] == (None if label == "city" else label)
        out[label] = client
    return out


def test_a_scoped_stream_keeps_to_its_district(servers, world, demo_db) -> None:  # noqa: ANN001
    from etl.feed.fix import Fix
    from etl.feed.ingest import ingest
    from layers.dispatch import timeline

    clients = _clients(servers[0], world["keys"])
    try:
        vehicles, events, workers = world["vehicles"], world["events"], world["workers"]
        t = DAY + dt.timedelta(hours=2)
        with psycopg.connect(demo_db) as conn:  # one batch: both districts' fixes in one NOTIFY
            ingest(conn, [Fix(vehicles[HOME], t, 121.30, 31.95, 10.0, 0.0),
                          Fix(vehicles[OTHER], t, 121.31, 31.96, 12.0, 0.0)], RULES)  # fmt: skip
        with psycopg.connect(demo_db) as conn:
            with conn.cursor() as cur:
                for code in events.values():
                    timeline.notify(cur, code)
                alerts = [{"id": 1, "rule": "forbidden_zone", "vehicle_code": v, "zone_code": "Z"}
                          for v in vehicles.values()]  # fmt: skip
                cur.execute("SELECT pg_notify('onemap_live', %s)",
                            (json.dumps({"kind": "geofence", "alerts": alerts}),))  # fmt: skip
                for w in workers.values():
                    for body in ({"workers": [[w, w, 121.3, 31.9, 5, 0]]}, {"on": [w, w]}):
                        cur.execute("SELECT pg_notify('onemap_live', %s)",
                                    (json.dumps({"kind": "workers", **body}),))  # fmt: skip
            conn.commit()
        marker = _marker(demo_db)
        for label, client in clients.items():
            seen = Seen(client).until_marker(marker)
            fixes = {f[0] for name, b in seen if name == "vehicles" for f in b["fixes"]}
            fixes &= set(vehicles.values())
            evs = {b["code"] for name, b in seen if name == "event"} & set(events.values())
            geo = {a["vehicle_code"] for name, b in seen if name == "geofence" for a in b["alerts"]}
            names = {
                row[0] for name, b in seen if name == "workers" for row in b.get("workers", [])
            } & set(workers.values())
            on = {b["on"][0] for name, b in seen if name == "workers" and "on" in b}
            assert on & set(workers.values()) == names, label
            wanted = [HOME, OTHER] if label == "city" else [label]
            assert fixes == {vehicles[d] for d in wanted}, label
            assert geo == {vehicles[d] for d in wanted}, label
            assert evs == {events[d] for d in wanted}, label
            assert names == {workers[d] for d in wanted}, label
            for name, b in seen:
                if name == "event" and b["code"] in events.values():
                    assert b["district_code"] in wanted
    finally:
        for client in clients.values():
            client.close()


def test_two_processes_each_deliver_one_change_once(servers, world, demo_db) -> None:  # noqa: ANN001
    from etl.feed.fix import Fix
    from etl.feed.ingest import ingest

    clients = [SseClient(f"{base}/api/live", world["keys"]["city"]) for base in servers]
    try:
        for client in clients:
            client.wait_for("hello")
        code = world["vehicles"][HOME]
        t = DAY + dt.timedelta(hours=3)
        with psycopg.connect(demo_db) as conn:
            ingest(conn, [Fix(code, t, 121.305, 31.955, 20.0, 90.0)], RULES)
        # a dispatch action over HTTP on the first process: 改派 a dispatched demo event
        with psycopg.connect(demo_db) as conn:
            row = conn.execute(
                "SELECT code, department_code FROM events WHERE status = 'dispatched' "
                "AND department_code IS NOT NULL ORDER BY code LIMIT 1"
            ).fetchone()
        assert row is not None
        event, department = row
        import httpx

        r = httpx.post(
            f"{servers[0]}/api/events/{event}/actions",
            json={"action": "dispatch", "department_code": department},
            headers=world["keys"]["city"],
            timeout=10,
        )
        assert r.status_code == 200, r.text
        marker = _marker(demo_db)
        for client in clients:
            seen = Seen(client).until_marker(marker)
            moved = [
                f for name, b in seen if name == "vehicles" for f in b["fixes"] if f[0] == code
            ]
            assert moved == [[code, 121.305, 31.955, 20.0, 90.0, t.timestamp()]]
            changed = [b for name, b in seen if name == "event" and b["code"] == event]
            assert len(changed) == 1 and changed[0]["department_code"] == department
    finally:
        for client in clients:
            client.close()
