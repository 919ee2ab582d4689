"""/healthz lists each read replica as the poller sees it (server, up, lag, in use or
skipped and why) on a real primary + streaming replica, never a secret of its DSN; and
ONEMAP_DATABASE__REPLICAS takes the comma-separated form as DATABASE_URL_REPLICAS does."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
from starlette.testclient import TestClient

from gis_server.app import create_app
from gis_server.settings import load_settings
from tests.replicas.conftest import Pair
from tests.replicas.test_read_your_writes import settings_for, wait_for

SECRET = "not-a-real-password-x9"


def test_onemap_database_replicas_is_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL_REPLICAS", raising=False)
    monkeypatch.setenv(
        "ONEMAP_DATABASE__REPLICAS",
        "postgresql://postgres@10.0.0.2/onemap, postgresql://postgres@10.0.0.3/onemap",
    )
    assert load_settings().database.replicas == [
        "postgresql://postgres@10.0.0.2/onemap",
        "postgresql://postgres@10.0.0.3/onemap",
    ]
    monkeypatch.setenv("ONEMAP_DATABASE__REPLICAS", '["postgresql://postgres@10.0.0.4/onemap"]')
    assert load_settings().database.replicas == ["postgresql://postgres@10.0.0.4/onemap"]


@pytest.fixture(scope="module")
def client(pair: Pair) -> Iterator[TestClient]:
    # trust auth ignores the password: it is there to be kept out of /healthz
    replica = pair.replica_dsn.replace("postgres@", f"postgres:{SECRET}@")
    with TestClient(create_app(settings_for(pair.primary_dsn, replica))) as c:
        yield c


def _replica(client: TestClient) -> dict:
    r = client.get("/healthz")
    assert r.status_code == 200, r.text  # a replica's state never fails the check
    assert SECRET not in r.text and "postgres@" not in r.text
    (replica,) = r.json()["replicas"]
    return replica


def test_healthz_reports_the_replica_in_use(pair: Pair, client: TestClient) -> None:
    state = wait_for(lambda: (s := _replica(client))["state"] == "in_use" and s, "in use")
    assert state["server"] == f"127.0.0.1:{pair.replica.settings.port}/onemap"
    assert state["up"] is True and 0 <= state["lag_s"] < 60
    assert "reason" not in state


def test_healthz_reports_a_lagging_replica_skipped(pair: Pair, client: TestClient) -> None:
    replicas = client.app.state.replicas
    pair.replica_sql("SELECT pg_wal_replay_pause()")
    replicas.max_lag_s = 1.0
    try:
        with psycopg.connect(pair.primary_dsn, autocommit=True) as c:
            c.execute("CREATE TABLE IF NOT EXISTS health_lag (n int)")
            c.execute("INSERT INTO health_lag VALUES (1)")  # WAL the replica does not replay
        state = wait_for(
            lambda: (s := _replica(client))["state"] == "skipped" and s, "lagging", timeout=20
        )
        assert state["reason"] == "lagging" and state["up"] is True and state["lag_s"] > 1.0
    finally:
        replicas.max_lag_s = 60
        pair.replica_sql("SELECT pg_wal_replay_resume()")
    wait_for(lambda: _replica(client)["state"] == "in_use", "caught up")


def test_healthz_reports_a_dead_replica_skipped(pair: Pair, client: TestClient) -> None:
    pair.replica.stop()
    try:
        state = wait_for(
            lambda: (s := _replica(client))["state"] == "skipped" and s, "down", timeout=20
        )
        assert state == {**state, "up": False, "lag_s": None, "reason": "down"}
    finally:
        pair.replica.start()
    wait_for(lambda: _replica(client)["state"] == "in_use", "back in use")


def test_healthz_without_replicas_has_no_replicas_member(pair: Pair) -> None:
    from gis_server.settings import DatabaseSettings, Settings

    settings = Settings(database=DatabaseSettings(url=pair.primary_dsn, pool_size=2))
    with TestClient(create_app(settings)) as c:
        r = c.get("/healthz")
        assert r.status_code == 200 and "replicas" not in r.json()
