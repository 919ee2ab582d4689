"""The three servers under test, each in its own process group on its own loopback port.

Every server started here is remembered and killed (SIGTERM, then SIGKILL, to
the whole process group) by `stop_all`, which ogc_compare.py calls from
`finally`, `atexit` and its SIGTERM/SIGINT handlers. Nothing else is killed.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import yaml

from . import ROOT_DIR
from .venvs import BENCH_VAR, PYGEOAPI, TIPG

WORKERS = 2
_STARTED: list[Server] = []


def free_port() -> int:
    """A loopback TCP port that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass
class Server:
    """One HTTP server process (plus its uvicorn workers)."""

    name: str
    argv: list[str]
    port: int
    health_path: str
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return BENCH_VAR / "logs" / f"{self.name}.log"

    def start(self) -> None:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        env = {**os.environ, **self.env}
        self.proc = subprocess.Popen(
            self.argv,
            cwd=BENCH_VAR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        _STARTED.append(self)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait_healthy(self, timeout: float) -> bool:
        """True once `health_path` answers 200 (False on timeout or if the process died)."""
        deadline = time.monotonic() + timeout
        url = self.base_url + self.health_path
        while time.monotonic() < deadline:
            if not self.alive():
                return False
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    if r.status == 200:
                        return True
            except (urllib.error.URLError, OSError, TimeoutError):
                pass
            time.sleep(0.5)
        return False

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def worker_pids(self) -> list[int]:
        """Uvicorn worker processes: the children of the server process that serve HTTP."""
        if not self.alive():
            return []
        assert self.proc is not None
        kids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmd = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            if ppid == self.proc.pid and b"resource_tracker" not in cmd:
                kids.append(int(entry.name))
        return sorted(kids) or [self.proc.pid]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        pgid = self.proc.pid  # start_new_session: the group id is the leader's pid
        for sig, wait in ((signal.SIGTERM, 8.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                return
            try:
                self.proc.wait(timeout=wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:  # stray workers of the group
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _socket_inodes(pid: int) -> set[str]:
    inodes: set[str] = set()
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def _tcp_table() -> list[tuple[int, int, str, str]]:
    """(local port, remote port, state hex, inode) of every TCP socket on the host."""
    rows = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            cols = line.split()
            if len(cols) > 9:
                local = int(cols[1].rsplit(":", 1)[1], 16)
                remote = int(cols[2].rsplit(":", 1)[1], 16)
                rows.append((local, remote, cols[3], cols[9]))
    return rows


def db_client_ports(pids: list[int]) -> list[int]:
    """Local TCP ports of the sockets these processes hold (to find their PostgreSQL backends)."""
    inodes = set().union(*(_socket_inodes(p) for p in pids)) if pids else set()
    return [local for local, _remote, _state, inode in _tcp_table() if inode in inodes]


def connections_per_worker(server: Server) -> list[int]:
    """Established HTTP connections each worker holds right now (keep-alive pinning)."""
    table = [row for row in _tcp_table() if row[0] == server.port and row[2] == "01"]
    counts = []
    for pid in server.worker_pids():
        inodes = _socket_inodes(pid)
        counts.append(sum(1 for row in table if row[3] in inodes))
    return counts


def stop_all() -> None:
    while _STARTED:
        _STARTED.pop().stop()


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """utime+stime of each pid, in seconds (missing pids are skipped)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


# -- the three servers --------------------------------------------------------


def onemap_server(tile_cache_mb: int = 0) -> Server:
    """`onemap serve --workers 2 --no-access-log`, with onemap's own settings (so the same
    database). The baselines log no requests and keep no tiles, so by default neither does
    onemap: every tile request builds its tile in PostGIS."""
    port = free_port()
    env = {
        "ONEMAP_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ONEMAP_SERVER__PUBLIC_URL": f"http://127.0.0.1:{port}",
        "ONEMAP_OGC__TILE_CACHE_MB": str(tile_cache_mb),
    }
    return Server(
        name="onemap",
        argv=[
            str(ROOT_DIR / ".venv" / "bin" / "onemap"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--no-access-log",
        ],  # fmt: skip
        port=port,
        health_path="/ogc/collections?f=json",
        env=env,
    )


def tipg_server(dsn: str, layers: list[dict]) -> Server:
    """tipg 1.6 under uvicorn (uvloop), restricted to the registry's public tables."""
    port = free_port()
    env = {
        "DATABASE_URL": dsn,
        "TIPG_DB_SCHEMAS": '["public"]',
        "TIPG_DB_TABLES": json.dumps([f"public.{layer['table']}" for layer in layers]),
        "TIPG_DB_FUNCTIONS": "[]",
        "TIPG_DB_SPATIAL_EXTENT": "false",
        "TIPG_DB_DATETIME_EXTENT": "false",
        "TIPG_MAX_FEATURES_PER_QUERY": "10000",
    }
    for layer in layers:
        key = f"TIPG_TABLE_CONFIG__public_{layer['table']}__"
        env[key + "pk"] = layer["id_column"]
        env[key + "properties"] = json.dumps(layer["properties"])
        if layer["time_column"]:
            env[key + "datetimecol"] = layer["time_column"]
    return Server(
        name="tipg",
        argv=[
            str(TIPG.bin("uvicorn")),
            "tipg.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
            "--no-access-log",
        ],  # fmt: skip
        port=port,
        health_path="/healthz",
        env=env,
    )


def pygeoapi_config(dsn: str, port: int, layers: list[dict]) -> dict:
    """Stock pygeoapi config: PostgreSQL provider for items, MVT-postgresql for tiles."""
    u = urlsplit(dsn)
    data = {
        "host": u.hostname or "127.0.0.1",
        "port": u.port or 5432,
        "dbname": u.path.lstrip("/"),
        "user": u.username or "postgres",
        "password": u.password or "",
        "search_path": ["public"],
    }
    resources = {}
    for layer in layers:
        common = {
            "data": data,
            "id_field": layer["id_column"],
            "table": layer["table"],
            "geom_field": "geom",
        }
        feature = {"type": "feature", "name": "PostgreSQL", **common}
        if layer["time_column"]:
            feature["time_field"] = layer["time_column"]
        feature["properties"] = layer["properties"]
        tile = {
            "type": "tile",
            "name": "MVT-postgresql",
            **common,
            # (a list option such as `schemes` breaks 0.24's cached get_engine: unhashable)
            "options": {"zoom": {"min": 0, "max": 22}},
            "format": {"name": "pbf", "mimetype": "application/vnd.mapbox-vector-tile"},
        }
        resources[layer["id"]] = {
            "type": "collection",
            "title": layer["id"],
            "description": layer["id"],
            "keywords": [layer["id"]],
            "extents": {
                "spatial": {
                    "bbox": [121.0, 31.7, 121.6, 32.2],
                    "crs": "http://www.opengis.net/def/crs/OGC/1.3/CRS84",
                }
            },
            "providers": [feature, tile],
        }
    url = f"http://127.0.0.1:{port}"
    return {
        "server": {
            "bind": {"host": "127.0.0.1", "port": port},
            "url": url,
            "mimetype": "application/json; charset=UTF-8",
            "encoding": "utf-8",
            "languages": ["en-US"],
            "limits": {"default_items": 10, "max_items": 10000},
            "map": {"url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png", "attribution": "OSM"},
            "pretty_print": False,
        },
        "logging": {"level": "ERROR"},
        "metadata": {
            "identification": {
                "title": "stock pygeoapi (bench)",
                "description": "benchmark baseline",
                "keywords": ["bench"],
                "keywords_type": "theme",
                "terms_of_service": "",
                "url": url,
            },
            "license": {"name": "", "url": ""},
            "provider": {"name": "bench", "url": url},
            "contact": {"name": "bench", "email": "bench@example.org", "url": url},
        },
        "resources": resources,
    }


def pygeoapi_server(dsn: str, layers: list[dict], log: Callable[[str], None] = print) -> Server:
    """Stock pygeoapi 0.24 (Starlette app) under uvicorn (uvloop), generated config + OpenAPI."""
    port = free_port()
    cfg_path = BENCH_VAR / "pygeoapi-config.yml"
    oas_path = BENCH_VAR / "pygeoapi-openapi.yml"
    cfg_path.write_text(yaml.safe_dump(pygeoapi_config(dsn, port, layers), allow_unicode=True))
    env = {
        **os.environ,
        "PYGEOAPI_CONFIG": str(cfg_path),
        "PYGEOAPI_OPENAPI": str(oas_path),
    }
    log("generating stock pygeoapi's OpenAPI document …")
    gen = subprocess.run(
        [
            str(PYGEOAPI.bin("pygeoapi")),
            "openapi",
            "generate",
            str(cfg_path),
            "--output-file",
            str(oas_path),
        ],  # fmt: skip
        env=env,
        cwd=BENCH_VAR,
        capture_output=True,
        text=True,
        timeout=180,
    )
    if gen.returncode != 0:
        raise RuntimeError(f"pygeoapi openapi generate failed:\n{gen.stderr[-2000:]}")
    return Server(
        name="pygeoapi",
        argv=[
            str(PYGEOAPI.bin("uvicorn")),
            "pygeoapi.starlette_app:APP",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(WORKERS),
            "--log-level",
            "warning",
            "--no-access-log",
        ],  # fmt: skip
        port=port,
        health_path="/collections?f=json",
        env={
            "PYGEOAPI_CONFIG": str(cfg_path),
            "PYGEOAPI_OPENAPI": str(oas_path),
            # a tile it cannot finish must not keep a backend busy for the next cells
            "PGOPTIONS": "-c statement_timeout=30000",
        },
    )
