"""`onemap cluster up|down|status|failover` (scripts/cluster.sh): the prefecture layout on one machine.

A PostgreSQL primary and its streaming replica (pg_basebackup -R) under
`var/cluster/`, two `onemap serve` processes reading from the replica
(DATABASE_URL_REPLICAS) and writing to whichever node accepts writes (DATABASE_URL
names both: libpq multi-host, target_session_attrs=read-write, so a promoted replica
is found without a restart), and HAProxy (the Debian package, installed with apt-get
when missing) in front, health-checking `/healthz` and retrying idempotent requests
that met a dead process on the other one. Every step is skipped when already done:
a second `up` only reports; `down` stops everything and keeps the data
(`down --purge` deletes it).

After a failover (the replica promoted), `up` does not restart the old primary
(it would be a second primary): it runs the promoted node alone until `down --purge`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import click
import httpx

from gis_server.cluster import Cluster, ClusterError
from gis_server.settings import PROJECT_DIR, ClusterSettings

APPS = 2
APP_START_TIMEOUT_S = 180.0  # a loaded machine: imports, migrations check, first pools
PG_OPTIONS = {"shared_buffers": "256MB", "max_connections": "100"}


@dataclass(frozen=True)
class Layout:
    root: Path
    pg_port: int  # the primary's; the replica's is the next
    http_port: int  # HAProxy's; the apps' are the next APPS ports
    scale: float  # the demo loaded into the primary (0: schema only)

    @property
    def primary(self) -> Cluster:
        return _node(self.root / "primary", self.pg_port)

    @property
    def replica(self) -> Cluster:
        return _node(self.root / "replica", self.pg_port + 1)

    def app_ports(self) -> list[int]:
        return [self.http_port + i for i in range(1, APPS + 1)]

    @property
    def database_url(self) -> str:
        """Both nodes, the one that takes writes chosen at connect time."""
        return (
            "postgresql://postgres@/onemap?host=127.0.0.1,127.0.0.1"
            f"&port={self.pg_port},{self.pg_port + 1}&target_session_attrs=read-write"
            "&connect_timeout=2"
        )

    @property
    def replica_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port + 1}/onemap"

    @property
    def primary_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.pg_port}/onemap"

    @property
    def haproxy_cfg(self) -> Path:
        return self.root / "haproxy.cfg"

    @property
    def haproxy_pid(self) -> Path:
        return self.root / "haproxy.pid"

    def app_pid(self, port: int) -> Path:
        return self.root / f"app-{port}.pid"


def _node(root: Path, port: int) -> Cluster:
    return Cluster(ClusterSettings(dir=root, port=port, name="onemap"), options=PG_OPTIONS)


def _promoted(layout: Layout) -> bool:
    """The replica left recovery (a failover): its standby.signal is gone."""
    replica = layout.replica
    return replica.is_initialised() and not (replica.data / "standby.signal").exists()


def _pid_alive(path: Path) -> int | None:
    """The pid in `path` if that process runs. A killed process whose parent has not
    reaped it yet (ours are started in a new session, so their parent is init, which
    may reap late) still answers signal 0: a zombie counts as gone."""
    try:
        pid = int(path.read_text().split()[0])
        os.kill(pid, 0)
    except (OSError, ValueError, IndexError):
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return pid  # no /proc: trust the signal
    return None if state in ("Z", "X") else pid


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(condition, what: str, timeout: float = 90.0) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise click.ClickException(f"timed out waiting for {what}")
        time.sleep(0.2)


# -- up ---------------------------------------------------------------------------
def _databases_up(layout: Layout) -> None:
    if _promoted(layout):
        click.echo("副本已提升 — the replica was promoted (failover): running it alone")
        layout.replica.start()
        return
    primary = layout.primary
    created = primary.init()
    primary.start()
    if created:
        from layers.migrate import upgrade

        primary.ensure_database()
        upgrade(f"postgresql+psycopg2://postgres@127.0.0.1:{layout.pg_port}/onemap")
        if layout.scale > 0:
            from etl.demo import load_demo
            from gis_server.settings import DemoSettings

            demo = DemoSettings()
            click.echo(f"演示数据 — loading the demo at scale {layout.scale} into the primary …")
            load_demo(
                layout.primary_url, scale=layout.scale, seed=demo.seed, anchor=demo.anchor_date
            )
        click.echo(f"主库 — primary created on port {layout.pg_port}")
    replica = layout.replica
    if replica.init_replica(layout.pg_port):
        click.echo(f"副本 — streaming replica made with pg_basebackup on port {layout.pg_port + 1}")
    replica.start()


def _apps_up(layout: Layout, replica_reads: bool = True, ports: list[int] | None = None) -> None:
    """Start the app processes not running (`replica_reads`: GETs may use the replica)."""
    path = os.environ.get("PYTHONPATH")
    env = {
        **os.environ,
        "PYTHONPATH": f"{PROJECT_DIR}:{path}" if path else str(PROJECT_DIR),  # this checkout
        "DATABASE_URL": layout.database_url,
        "DATABASE_URL_REPLICAS": layout.replica_url if replica_reads else "",
        "ONEMAP_PUBLIC_URL": f"http://127.0.0.1:{layout.http_port}",
        "ONEMAP_FEED_ENABLED": "false",  # a feed runs once, not once per process
        "ONEMAP_SERVER__ACCESS_LOG": "false",
    }
    started = []
    for port in ports or layout.app_ports():
        if _pid_alive(layout.app_pid(port)):
            continue
        log = open(layout.root / f"app-{port}.log", "ab")  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gis_server.cli",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            env=env,
            cwd=PROJECT_DIR,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survives this command; `down` stops it by its pid
        )
        layout.app_pid(port).write_text(f"{proc.pid}\n")
        started.append((port, proc))
    for port, proc in started:
        log_path = layout.root / f"app-{port}.log"
        _wait(
            lambda port=port, proc=proc: _healthy(port) or proc.poll() is not None,
            f"onemap serve on {port} (see {log_path})",
            timeout=APP_START_TIMEOUT_S,
        )
        if proc.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-8:]
            raise click.ClickException(
                f"onemap serve on {port} exited ({proc.returncode}):\n" + "\n".join(tail)
            )
        click.echo(f"应用 — onemap serve on 127.0.0.1:{port}")


HAPROXY_CFG = """\
# written by `onemap cluster up`; HAProxy in front of the onemap processes
global
    log stdout format raw local0 warning
    maxconn 2000

defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    # a request that met a dead process is sent to the other one: a refused connection
    # always (nothing was sent), a connection closed without an answer only for GET/HEAD
    # (a POST may have been done), so a killed process costs no more than its requests
    # in flight
    retries 3
    retry-on conn-failure empty-response
    option redispatch 1

frontend onemap
    bind 127.0.0.1:{http_port}
    default_backend apps

backend apps
    balance roundrobin
    http-request disable-l7-retry if !METH_GET
    option httpchk GET /healthz
    http-check expect status 200
    default-server inter 1s fall 2 rise 1
{servers}

listen stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /
"""


def _haproxy_bin() -> str:
    found = shutil.which("haproxy") or (
        "/usr/sbin/haproxy" if Path("/usr/sbin/haproxy").exists() else None
    )
    if found:
        return found
    click.echo("安装 HAProxy — haproxy not found: apt-get install haproxy …")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for args in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "haproxy"]):
        if subprocess.run(args, env=env, capture_output=True, text=True).returncode != 0:
            raise click.ClickException("apt-get install haproxy failed (run it as root)")
    return shutil.which("haproxy") or "/usr/sbin/haproxy"


def _haproxy_up(layout: Layout) -> None:
    if _pid_alive(layout.haproxy_pid):
        return
    # each app twice: checked, and as an unchecked backup used only when every checked
    # one is down — /healthz fails on all of them at once while the primary is gone
    # (before a promotion), yet they still serve reads from the replica and answer
    # writes with 503 + Retry-After themselves
    servers = "\n".join(
        f"    server app{i} 127.0.0.1:{port} check\n"
        f"    server app{i}-backup 127.0.0.1:{port} backup"
        for i, port in enumerate(layout.app_ports(), start=1)
    )
    layout.haproxy_cfg.write_text(
        HAPROXY_CFG.format(
            http_port=layout.http_port, stats_port=layout.http_port + 99, servers=servers
        )
    )
    haproxy = _haproxy_bin()
    checked = subprocess.run(
        [haproxy, "-c", "-f", str(layout.haproxy_cfg)], capture_output=True, text=True
    )
    if checked.returncode != 0:
        raise click.ClickException(
            f"haproxy.cfg refused: {(checked.stderr or checked.stdout).strip()}"
        )
    subprocess.run(
        [haproxy, "-D", "-f", str(layout.haproxy_cfg), "-p", str(layout.haproxy_pid)], check=True
    )
    _wait(lambda: _healthy(layout.http_port), "HAProxy")
    click.echo(
        f"负载均衡 — HAProxy on 127.0.0.1:{layout.http_port} (stats :{layout.http_port + 99})"
    )


def up(layout: Layout) -> None:
    layout.root.mkdir(parents=True, exist_ok=True)
    try:
        _databases_up(layout)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from None
    _apps_up(layout)
    _haproxy_up(layout)


# -- down -------------------------------------------------------------------------
def _stop_pid(path: Path, what: str) -> None:
    pid = _pid_alive(path)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        while _pid_alive(path) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _pid_alive(path):
            os.kill(pid, signal.SIGKILL)
        click.echo(f"已停止 — stopped {what} (pid {pid})")
    path.unlink(missing_ok=True)


def apps_down(layout: Layout) -> None:
    for port in layout.app_ports():
        _stop_pid(layout.app_pid(port), f"onemap serve :{port}")


def down(layout: Layout, purge: bool) -> None:
    _stop_pid(layout.haproxy_pid, "HAProxy")
    apps_down(layout)
    for name, node in (("replica", layout.replica), ("primary", layout.primary)):
        if node.is_running():
            node.stop()
            click.echo(f"已停止 — stopped the {name} (port {node.settings.port})")
    if purge and layout.root.exists():
        shutil.rmtree(layout.root)
        click.echo(f"已删除 — removed {layout.root}")


# -- failover ---------------------------------------------------------------------
def failover(layout: Layout) -> None:
    """The drill: stop the primary, promote the replica, wait until the apps (which were
    not told anything) answer /healthz through HAProxy again, writing to the new primary."""
    if _promoted(layout):
        click.echo("副本已是主库 — the replica was already promoted")
        return
    started = time.monotonic()
    layout.primary.stop()
    click.echo(f"已停止主库 — primary stopped (port {layout.pg_port})")
    layout.replica.promote()
    click.echo(f"副本已提升 — replica promoted (port {layout.pg_port + 1})")
    _wait(lambda: _healthy(layout.http_port), "the apps on the promoted node", timeout=60)
    took = time.monotonic() - started
    click.echo(f"已恢复 — /healthz through HAProxy is 200 again, {took:.1f} s after the stop")


# -- status -----------------------------------------------------------------------
def _pg_role(url: str) -> str:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=2) as conn:
            (recovery,) = conn.execute("SELECT pg_is_in_recovery()").fetchone()
            if recovery:
                (lsn,) = conn.execute("SELECT pg_last_wal_replay_lsn()::text").fetchone()
                return f"replica, replayed {lsn}"
            rows = conn.execute(
                "SELECT application_name, state, COALESCE(replay_lag::text, '0') "
                "FROM pg_stat_replication"
            ).fetchall()
            streams = ", ".join(f"{a or 'walreceiver'} {s} lag {lag}" for a, s, lag in rows)
            return f"primary ({streams or 'no replica streaming'})"
    except psycopg.Error:
        return "down"


def status(layout: Layout) -> bool:
    """Print each part's state; True when all are up."""
    ok = True
    for name, url in (("primary", layout.primary_url), ("replica", layout.replica_url)):
        role = _pg_role(url)
        ok &= role != "down" or (name == "primary" and _promoted(layout))
        click.echo(f"{name:8} {url.split('@')[1]:28} {role}")
    for port in layout.app_ports():
        alive = _pid_alive(layout.app_pid(port))
        healthy = alive is not None and _healthy(port)
        ok &= healthy
        state = "healthy" if healthy else ("running, unhealthy" if alive else "stopped")
        click.echo(f"app      127.0.0.1:{port:<18} {state}" + (f" (pid {alive})" if alive else ""))
    alive = _pid_alive(layout.haproxy_pid)
    healthy = alive is not None and _healthy(layout.http_port)
    ok &= healthy
    click.echo(
        f"haproxy  127.0.0.1:{layout.http_port:<18} {'healthy' if healthy else 'stopped'}"
        + (f" (stats http://127.0.0.1:{layout.http_port + 99}/)" if alive else "")
    )
    return ok


def _layout(root: str, pg_port: int, http_port: int, scale: float) -> Layout:
    path = Path(root)
    return Layout(path if path.is_absolute() else PROJECT_DIR / path, pg_port, http_port, scale)


_OPTIONS = [
    click.option("--dir", "root", envvar="ONEMAP_CLUSTER_DIR", default="var/cluster", show_default=True),
    click.option("--pg-port", envvar="ONEMAP_CLUSTER_PG_PORT", type=int, default=55441, show_default=True,
                 help="The primary's port; the replica's is the next."),
    click.option("--http-port", envvar="ONEMAP_CLUSTER_HTTP_PORT", type=int, default=8100, show_default=True,
                 help="HAProxy's port; the apps' are the next two, its stats page +99."),
]  # fmt: skip


def _with_options(f):  # noqa: ANN001, ANN202
    for option in reversed(_OPTIONS):
        f = option(f)
    return f


@click.group("cluster")
def cluster() -> None:
    """集群演示 — a primary, a streaming replica, 2 app processes and HAProxy on this machine."""


@cluster.command("up")
@_with_options
@click.option("--scale", envvar="ONEMAP_CLUSTER_SCALE", type=float, default=0.1, show_default=True,
              help="Demo scale loaded into a new primary (0: schema only).")  # fmt: skip
def up_cmd(root: str, pg_port: int, http_port: int, scale: float) -> None:
    """Start what is not running (a second `up` only reports), then print the status."""
    layout = _layout(root, pg_port, http_port, scale)
    up(layout)
    status(layout)


@cluster.command("down")
@_with_options
@click.option("--purge", is_flag=True, help="Also delete the data under the cluster directory.")
def down_cmd(root: str, pg_port: int, http_port: int, purge: bool) -> None:
    """Stop HAProxy, the apps and both PostgreSQL nodes (the data stays unless --purge)."""
    down(_layout(root, pg_port, http_port, 0), purge)


@cluster.command("failover")
@_with_options
def failover_cmd(root: str, pg_port: int, http_port: int) -> None:
    """The failover drill: stop the primary, promote the replica, wait for the apps."""
    layout = _layout(root, pg_port, http_port, 0)
    try:
        failover(layout)
    except ClusterError as exc:
        raise click.ClickException(str(exc)) from None
    status(layout)


@cluster.command("status")
@_with_options
def status_cmd(root: str, pg_port: int, http_port: int) -> None:
    """Each part's state; exit 1 unless all are up."""
    if not status(_layout(root, pg_port, http_port, 0)):
        sys.exit(1)


if __name__ == "__main__":  # scripts/cluster.sh: without importing every other command
    cluster()
