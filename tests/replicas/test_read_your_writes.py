"""Reads on a real streaming replica: GETs go to it, the writer reads their own write
(the primary until the replica has replayed the write's LSN), a lagging or dead replica
is skipped, and the failover drill (stop the primary, promote the replica: the app,
given both hosts in DATABASE_URL, recovers by itself). Runs in this order: the drill
ends the pair."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator

import httpx
import psycopg
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.replicas import parse_lsn
from gis_server.settings import DatabaseSettings, Settings
from tests.replicas.conftest import Pair

GEO = {"Content-Type": "application/geo+json"}
ITEMS = "/ogc/collections/cameras/items"
CONSOLE_CAMERAS = "/api/console/layers/cameras"


def wait_for(condition: Callable[[], object], what: str, timeout: float = 30.0) -> object:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def camera(code: str) -> dict:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": f"复制测试 {code}", "kind": "xueliang",
                       "status": "online"},
        "geometry": {"type": "Point", "coordinates": [121.17, 31.9]},
    }  # fmt: skip


def settings_for(url: str, replica: str, max_lag_s: float = 60) -> Settings:
    database = DatabaseSettings(
        url=url, replicas=[replica], replica_max_lag_s=max_lag_s, pool_size=4
    )
    return Settings(database=database)


@pytest.fixture(scope="module")
def client(pair: Pair) -> Iterator[TestClient]:
    with TestClient(create_app(settings_for(pair.primary_dsn, pair.replica_dsn))) as c:
        wait_for(lambda: c.get(ITEMS).headers.get("x-onemap-read") == "replica", "replica in use")
        yield c


def write_camera(client: TestClient, key: str) -> tuple[str, httpx.Response]:
    code = f"REP-{secrets.token_hex(3)}"
    r = client.post(ITEMS, json=camera(code), headers={**GEO, "X-API-Key": key})
    assert r.status_code == 201, r.text
    return code, r


def anonymous_get(client: TestClient, path: str) -> httpx.Response:
    """A GET without the writer's cookie (another reader)."""
    return without_cookies(client, lambda: client.get(path))


def without_cookies(client: TestClient, call: Callable[[], httpx.Response]) -> httpx.Response:
    saved = httpx.Cookies(client.cookies)
    client.cookies = httpx.Cookies()
    try:
        return call()
    finally:
        client.cookies = saved


def test_the_writer_reads_their_write_others_read_the_replica(
    pair: Pair, client: TestClient, editor_key: str
) -> None:
    pair.replica_sql("SELECT pg_wal_replay_pause()")  # the replica will not see the write
    try:
        code, r = write_camera(client, editor_key)
        lsn = r.headers["x-onemap-lsn"]
        assert parse_lsn(lsn) is not None
        assert f"onemap_lsn={lsn}" in r.headers["set-cookie"]
        mine = client.get(f"{ITEMS}/{code}")  # the cookie: the primary, which has it
        assert mine.status_code == 200, mine.text
        assert mine.headers["x-onemap-read"] == "primary"
        theirs = anonymous_get(client, f"{ITEMS}/{code}")  # the paused replica: not yet
        assert theirs.headers["x-onemap-read"] == "replica"
        assert theirs.status_code == 404
        # the sync pool's read paths too (a console body, built in a worker thread)
        assert code in client.get(CONSOLE_CAMERAS).text
        assert code not in anonymous_get(client, CONSOLE_CAMERAS).text
        # the header alone carries the position too (API clients without cookies)
        by_header = without_cookies(
            client, lambda: client.get(f"{ITEMS}/{code}", headers={"X-Onemap-LSN": lsn})
        )
        assert (by_header.status_code, by_header.headers["x-onemap-read"]) == (200, "primary")
        junk = without_cookies(client, lambda: client.get(ITEMS, headers={"X-Onemap-LSN": "zz"}))
        assert (junk.status_code, junk.headers["x-onemap-read"]) == (200, "replica")  # ignored
    finally:
        pair.replica_sql("SELECT pg_wal_replay_resume()")
    # once replayed (and polled), the writer is back on the replica and still sees it
    wait_for(
        lambda: client.get(f"{ITEMS}/{code}").headers["x-onemap-read"] == "replica",
        "the writer back on the replica",
    )
    assert client.get(f"{ITEMS}/{code}").status_code == 200
    assert anonymous_get(client, f"{ITEMS}/{code}").status_code == 200


def test_a_lagging_replica_is_skipped(pair: Pair, client: TestClient, editor_key: str) -> None:
    replicas = client.app.state.replicas
    pair.replica_sql("SELECT pg_wal_replay_pause()")
    replicas.max_lag_s = 1.0
    try:
        code, _ = write_camera(client, editor_key)
        # the replica falls behind by more than 1 s: everyone reads the primary, and sees it
        r = wait_for(
            lambda: (
                (r := anonymous_get(client, f"{ITEMS}/{code}")).headers["x-onemap-read"]
                == "primary"
                and r
            ),
            "the lagging replica skipped",
        )
        assert r.status_code == 200
    finally:
        replicas.max_lag_s = 60
        pair.replica_sql("SELECT pg_wal_replay_resume()")
    wait_for(
        lambda: anonymous_get(client, ITEMS).headers["x-onemap-read"] == "replica",
        "the replica caught up",
    )


def test_a_dead_replica_is_skipped_without_failed_reads(pair: Pair, client: TestClient) -> None:
    client.cookies = httpx.Cookies()  # the earlier writes' positions: not this test's subject
    assert client.get(ITEMS).headers["x-onemap-read"] == "replica"
    pair.replica.stop()
    try:
        # at once (pooled connections the replica hung up on, refused connects) and after
        # the poller has seen it down: every read answered, from the primary
        statuses = set()
        r = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            r = anonymous_get(client, ITEMS)
            statuses.add(r.status_code)
            tiles = client.get("/ogc/collections/cameras/tiles/WebMercatorQuad/12/1664/3426")
            statuses.add(tiles.status_code)
            if r.headers["x-onemap-read"] == "primary":
                break
        assert r is not None and r.headers["x-onemap-read"] == "primary"
        assert statuses <= {200, 204}, statuses
        console = client.get(CONSOLE_CAMERAS)
        assert console.status_code == 200
    finally:
        pair.replica.start()
    wait_for(
        lambda: anonymous_get(client, ITEMS).headers["x-onemap-read"] == "replica",
        "the replica back in use",
    )


def test_failover_drill_the_app_recovers_by_itself(pair: Pair, editor_key: str) -> None:
    """Stop the primary, promote the replica: with both hosts in DATABASE_URL
    (target_session_attrs=read-write) writes resume on the promoted one, unaided."""
    settings = settings_for(pair.both_dsn, pair.replica_dsn)
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        code, _ = write_camera(client, editor_key)
        wait_for(lambda: client.get(ITEMS).headers["x-onemap-read"] == "replica", "replica used")
        pair.primary.stop()
        # primary gone, not yet promoted: reads go on from the replica
        r = anonymous_get(client, f"{ITEMS}/{code}")
        assert (r.status_code, r.headers["x-onemap-read"]) == (200, "replica")
        assert client.post(ITEMS, json=camera("REP-DOWN"), headers={**GEO, "X-API-Key": editor_key}
                           ).status_code == 503  # fmt: skip
        pair.replica.promote()
        with psycopg.connect(pair.replica_dsn) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (False,)
        # no restart, no reconfiguration: the next requests find the new primary
        after, _ = wait_for(lambda: _try_write(client, editor_key), "a write after failover")
        assert client.get(f"{ITEMS}/{after}").status_code == 200
        assert client.get(f"{ITEMS}/{code}").status_code == 200
        assert client.get("/healthz").status_code == 200


def _try_write(client: TestClient, key: str) -> tuple[str, httpx.Response] | None:
    code = f"REP-{secrets.token_hex(3)}"
    r = client.post(ITEMS, json=camera(code), headers={**GEO, "X-API-Key": key})
    return (code, r) if r.status_code == 201 else None
