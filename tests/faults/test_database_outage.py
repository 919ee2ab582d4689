"""The fault drill, automated: PostGIS stops while onemap serves, then comes back.

While the database is away every route that needs it answers 503 with
Retry-After and the one JSON error body (never a 500, never a hang); no write
is half-applied; when the database returns, service recovers by itself.
The drill runs on a private cluster of its own (initdb in a temp folder), so the
shared test database is never stopped.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gis_server.cluster import Cluster
from gis_server.ogc import caching
from gis_server.settings import ClusterSettings
from tests.helpers import onemap_serve

ONEMAP = str(Path(sys.executable).parent / "onemap")
PASSWORD = "drill password long enough"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _onemap(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [ONEMAP, *args], env=env, input=stdin, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


@pytest.fixture(scope="module")
def drill_cluster(tmp_path_factory) -> Iterator[tuple[Cluster, dict[str, str]]]:
    root = tmp_path_factory.mktemp("fault-pg")
    cluster = Cluster(ClusterSettings(dir=root, port=_free_port(), name="onemap_drill"))
    cluster.up()
    dsn = f"postgresql://postgres@127.0.0.1:{cluster.settings.port}/onemap_drill"
    env = dict(os.environ, DATABASE_URL=dsn)
    try:
        _onemap(env, "db", "migrate")
        _onemap(env, "demo", "--scale", "0.01")
        _onemap(
            env,
            "users",
            "add",
            "drill",
            "--role",
            "gis_editor",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        key = re.search(r"om_\S+", _onemap(env, "keys", "issue", "--user", "drill", "--name", "d"))
        assert key, "no API key printed"
        env["DRILL_KEY"] = key.group(0)
        yield cluster, env
    finally:
        cluster.stop()


# Console bodies a big screen polls are kept per process for a few seconds
# (console_api/bodies.TtlCache): within that time they still answer from memory.
CACHED = ("/api/console/events", "/api/console/stats/towns")


# reads that need a signed-in user: anonymous ones are a 401 (no database needed) throughout
SIGNED_IN = ("/api/grids/check",)


def _reads(base: str, camera: str) -> list[str]:
    return [
        f"{base}/healthz",
        f"{base}/ogc/collections/cameras/items?limit=5",
        f"{base}/ogc/collections/cameras/items?limit=5&f=html",
        f"{base}/ogc/collections/cameras/items/{camera}",
        f"{base}/ogc/collections/grids/tiles/WebMercatorQuad/12/1660/3428",
        f"{base}/api/console/layers/grids",
        f"{base}/api/console/events",
        f"{base}/api/console/stats/towns",
        f"{base}/api/console/search?q=网格",
        f"{base}/api/grids/check",
    ]


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    except OSError:
        return True
    return False


def _is_db_unavailable(r: httpx.Response | str) -> bool:
    if isinstance(r, str):  # the connection broke: no answer at all
        return False
    if r.status_code != 503 or "retry-after" not in r.headers:
        return False
    try:
        body = r.json()
    except ValueError:
        return False
    return isinstance(body, dict) and "code" in body and "description" in body


def _answer(ask) -> httpx.Response | str:  # noqa: ANN001 - a request to make
    try:
        return ask()
    except httpx.HTTPError as exc:
        return f"no answer: {exc!r}"


def _patch(client: httpx.Client, base: str, camera: str, key: str, n: int) -> httpx.Response:
    return client.patch(
        f"{base}/ogc/collections/cameras/items/{camera}",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/merge-patch+json"},
        json={"properties": {"name": f"drill {n}"}},
    )


def _audit_rows(env: dict[str, str], camera: str) -> int:
    out = subprocess.run(
        [
            "psql",
            env["DATABASE_URL"],
            "-tAc",
            f"SELECT count(*) FROM audit_log WHERE layer = 'cameras' AND feature_id = '{camera}'",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return int(out.stdout.strip())


def test_database_outage_is_503_everywhere_and_recovers(drill_cluster):
    cluster, env = drill_cluster
    key = env["DRILL_KEY"]
    auth = {"Authorization": f"Bearer {key}"}

    def _as(url: str) -> dict[str, str]:
        return auth if url.endswith(SIGNED_IN) else {}

    with onemap_serve({"DATABASE_URL": env["DATABASE_URL"]}, "fault-drill.log") as (base, _):
        client = httpx.Client(timeout=10)
        camera = client.get(f"{base}/ogc/collections/cameras/items?limit=1").json()
        camera = camera["features"][0]["id"]
        urls = _reads(base, camera)
        for url in urls:
            assert client.get(url, headers=_as(url)).status_code < 500, url
        ok_patches = sum(_patch(client, base, camera, key, n).status_code == 200 for n in range(3))
        assert ok_patches == 3

        cluster.stop()
        status = cluster._run(
            [str(cluster.bin_dir() / "pg_ctl"), "-D", str(cluster.data), "status"], check=False
        )
        assert _refused(cluster.settings.port), (
            f"the drill cluster still answers: {status.stdout}{status.stderr}"
        )
        # A process trusts its copy of layer_changes for caching.TTL seconds, and within
        # that a cached tile is still a right answer (by design): wait it out.
        time.sleep(caching.TTL + 0.2)
        asks = [
            (u, lambda u=u, h=h: client.get(u, headers=h))
            for u in urls
            for h in ((auth,) if u.endswith(SIGNED_IN) else ({}, auth))
        ]
        asks.append(("me", lambda: client.get(f"{base}/api/auth/me", headers=auth)))
        asks += [
            (f"PATCH {n}", lambda n=n: _patch(client, base, camera, key, 100 + n)) for n in range(3)
        ]
        login = {"username": "drill", "password": PASSWORD}
        asks.append(("login", lambda: client.post(f"{base}/api/auth/login", json=login)))
        failures = []
        for name, ask in asks:
            r = _answer(ask)
            cached = name.endswith(CACHED) and not isinstance(r, str) and r.status_code == 200
            if not (_is_db_unavailable(r) or cached):
                failures.append((name, r if isinstance(r, str) else (r.status_code, r.text[:100])))
        assert failures == [], "\n".join(map(repr, failures))

        cluster.start()
        deadline = time.monotonic() + 30
        pending = list(urls)
        while pending and time.monotonic() < deadline:
            pending = [
                u
                for u in pending
                if _is_db_unavailable(r := _answer(lambda u=u: client.get(u, headers=_as(u))))
                or isinstance(r, str)
            ]
        assert pending == [], f"not recovered: {pending}"
        r = _patch(client, base, camera, key, 200)
        assert r.status_code == 200, r.text
        ok_patches += 1
    assert _audit_rows(env, camera) == ok_patches  # nothing half-applied in the outage
    assert secrets.compare_digest(key, env["DRILL_KEY"])
