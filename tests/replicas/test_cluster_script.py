"""`scripts/cluster.sh up|status|failover|down` for real: primary + streaming replica,
two `onemap serve` processes, HAProxy in front; a second `up` starts nothing; one app
process killed under load costs no more failed requests than were in flight, and
`up` brings it back; the failover drill (primary stopped, replica promoted) needs
nothing from the apps; `down` stops everything (twice is fine)."""

from __future__ import annotations

import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gis_server.settings import PROJECT_DIR
from tests.replicas.test_read_your_writes import wait_for

SCRIPT = PROJECT_DIR / "scripts" / "cluster.sh"
LOADERS = 4  # concurrent clients: at most this many requests are in flight at the kill


def _free(*ports: int) -> bool:
    for port in ports:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return False
    return True


def _ports() -> tuple[int, int]:
    for _ in range(50):
        pg, http = random.randrange(20000, 30000), random.randrange(30000, 40000)
        if _free(pg, pg + 1, http, http + 1, http + 2, http + 99):
            return pg, http
    raise RuntimeError("no free ports")


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[dict[str, str], int, Path]]:
    if os.geteuid() != 0:
        pytest.skip("the cluster script runs PostgreSQL as the postgres user: needs root")
    if shutil.which("haproxy") is None and not Path("/usr/sbin/haproxy").exists():
        pytest.skip("haproxy not installed (cluster.sh would apt-get it; not from a test)")
    root = Path(tempfile.mkdtemp(prefix="onemap-stack-", dir="/tmp"))
    pg, http = _ports()
    env = {
        **os.environ,
        "ONEMAP_CLUSTER_DIR": str(root),
        "ONEMAP_CLUSTER_PG_PORT": str(pg),
        "ONEMAP_CLUSTER_HTTP_PORT": str(http),
        "ONEMAP_CLUSTER_SCALE": "0",  # schema only: the load reads cameras, empty or not
    }
    try:
        yield env, http, root
    finally:
        subprocess.run([SCRIPT, "down", "--purge"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(root, ignore_errors=True)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SCRIPT, *args], env=env, capture_output=True, text=True, timeout=240)


def pids(root: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(root.glob("*.pid"))}


def test_up_twice_kill_an_app_under_load_down(stack) -> None:  # noqa: ANN001
    env, http, root = stack
    first = run(env, "up")
    assert first.returncode == 0, first.stderr + first.stdout
    assert "streaming" in first.stdout and first.stdout.count("healthy") == 3, first.stdout
    started = pids(root)
    assert len(started) == 3  # two apps, HAProxy

    again = run(env, "up")  # idempotent: starts nothing, reports
    assert again.returncode == 0, again.stderr
    assert pids(root) == started
    assert "onemap serve on" not in again.stdout and "created" not in again.stdout
    assert again.stdout.count("healthy") == 3  # the status it printed

    base = f"http://127.0.0.1:{http}"
    url = f"{base}/ogc/collections/cameras/items?limit=5"
    assert httpx.get(url).headers["x-onemap-read"] == "replica"
    outcomes: list[int | str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(timeout=10) as client:
            while not stop.is_set():
                try:
                    outcomes.append(client.get(url).status_code)
                except httpx.HTTPError as exc:
                    outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=load) for _ in range(LOADERS)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(outcomes) >= 50, "load before the kill")
        app_port = http + 1
        victim = int((root / f"app-{app_port}.pid").read_text())
        os.kill(victim, signal.SIGKILL)
        at_kill = len(outcomes)
        # past HAProxy's health checks marking it down (2 × 1 s): requests meet the dead
        # process, then only the live one
        wait_for(lambda: len(outcomes) >= at_kill + 200, "load after the kill", timeout=90)
    finally:
        stop.set()
        for t in threads:
            t.join()
    failed = [o for o in outcomes if o != 200]
    assert len(failed) <= LOADERS, failed  # only requests in flight at the kill may fail
    print(f"requests {len(outcomes)}, failed {len(failed)}: {failed}")

    assert run(env, "status").returncode == 1  # one app is gone
    repaired = run(env, "up")  # brings back what is missing, and only that
    assert repaired.returncode == 0, repaired.stderr
    assert f"onemap serve on 127.0.0.1:{app_port}" in repaired.stdout
    assert run(env, "status").returncode == 0

    # the failover drill with real processes: they are told nothing, HAProxy keeps them
    drill = run(env, "failover")
    assert drill.returncode == 0, drill.stderr + drill.stdout
    assert "replica  " in drill.stdout and "primary (" in drill.stdout.split("replica  ")[1]
    assert httpx.get(f"{base}/healthz").status_code == 200  # writes reach the promoted node
    assert httpx.get(url).status_code == 200
    after = run(env, "up")  # does not bring the old primary back as a second primary
    assert after.returncode == 0 and "running it alone" in after.stdout, after.stdout

    down = run(env, "down")
    assert down.returncode == 0, down.stderr
    assert "stopped the replica" in down.stdout  # the promoted node; the old primary was down
    assert pids(root) == {}
    assert run(env, "status").returncode == 1
    assert run(env, "down").returncode == 0  # nothing left to stop: still fine
    with pytest.raises(httpx.HTTPError):
        httpx.get(url, timeout=2)
